// Reading, checking and listing manifests. A manifest is the proof that a backup is complete: it is
// written after every chunk, and read back through this schema so a hand-edited or foreign file fails
// with the field at fault.
import { z } from 'zod';
import { BACKUP_FORMAT_VERSION, BACKUP_ITEMS, BACKUP_TYPES, manifestKey, type BackupManifest } from '../../domain/backups/index.js';
import { BackupObjectNotFoundError, type BackupStorage } from '../../ports/backup-storage.js';

const position = z.string().regex(/^\d{1,20}\.\d{1,20}$/);

const manifestSchema = z.object({
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  backupId: z.string().min(1),
  name: z.string(),
  type: z.enum(BACKUP_TYPES),
  scope: z.object({ tenantId: z.string().optional() }),
  position: z.object({ from: position, to: position }),
  eventCount: z.number().int().min(0),
  chunks: z.array(
    z.object({
      item: z.enum(BACKUP_ITEMS),
      name: z.string().regex(/^[a-z]+(-[a-z]+)*-\d{6}\.ndjson\.gz(\.enc)?$/),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().min(0),
      events: z.number().int().min(0),
      records: z.number().int().min(0),
      firstPosition: position.nullable(),
      lastPosition: position.nullable(),
    }),
  ),
  encryption: z.object({ algorithm: z.literal('aes-256-gcm'), keyId: z.string() }).nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  parentBackupId: z.string().nullable(),
  failedItems: z.array(z.object({ item: z.enum(BACKUP_ITEMS), reason: z.string() })).default([]),
});

export class BackupManifestError extends Error {
  override readonly name = 'BackupManifestError';
  constructor(
    readonly backupId: string,
    message: string,
  ) {
    super(`backup ${backupId}: ${message}`);
  }
}

export function parseManifest(backupId: string, text: string): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupManifestError(backupId, 'manifest.json is not JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupManifestError(backupId, `manifest.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (parsed.data.backupId !== backupId) throw new BackupManifestError(backupId, `manifest.json names backup ${parsed.data.backupId}`);
  return parsed.data as BackupManifest;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(typeof part === 'string' ? Buffer.from(part) : (part as Buffer));
  return Buffer.concat(parts);
}

/** The published manifest of a backup, or undefined when none is published. */
export async function readManifest(storage: BackupStorage, backupId: string): Promise<BackupManifest | undefined> {
  let body: NodeJS.ReadableStream;
  try {
    body = await storage.get(manifestKey(backupId));
  } catch (error) {
    if (error instanceof BackupObjectNotFoundError) return undefined;
    throw error;
  }
  return parseManifest(backupId, (await readAll(body)).toString('utf8'));
}

/** Publishes a backup: its manifest, written after its chunks. */
export async function publishManifest(storage: BackupStorage, manifest: BackupManifest): Promise<void> {
  await storage.put(manifestKey(manifest.backupId), Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'));
}

/** Ids of the published backups (those with a manifest), in key order. */
export async function listPublishedBackupIds(storage: BackupStorage): Promise<string[]> {
  const ids: string[] = [];
  for await (const object of storage.list('')) {
    const match = /^([^/]+)\/manifest\.json$/.exec(object.key);
    if (match) ids.push(match[1]!);
  }
  return ids;
}
