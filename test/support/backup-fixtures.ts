// Backups made the way the backup format says (commands/backups: gzip NDJSON chunks, sha256, manifest last)
// from events read out of a real store, for the restore and drill tests. Independent of the backup runner,
// so that the restore side is tested against the format itself.
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { encodeChunk, publishManifest, sha256Hex, toBackupEventRecord, type BackupKey } from '../../src/commands/backups/index.js';
import { BACKUP_FORMAT_VERSION, chunkKey, chunkName, type BackupChunk, type BackupManifest } from '../../src/domain/backups/index.js';
import { BackupObjectNotFoundError, type BackupObject, type BackupStorage } from '../../src/ports/backup-storage.js';
import { START, formatPosition, type Position, type RecordedEvent } from '../../src/ports/event-store.js';

/** A plain directory as backup storage (what the filesystem adapter stores, without its atomic rename). */
export function directoryStorage(root: string): BackupStorage {
  return {
    kind: 'filesystem',
    location: (key) => join(root, key),
    async put(key, body) {
      const bytes = body instanceof Uint8Array ? Buffer.from(body) : Buffer.concat(await Readable.from(body).toArray());
      await mkdir(dirname(join(root, key)), { recursive: true });
      await writeFile(join(root, key), bytes);
      return { key, bytes: bytes.length };
    },
    async get(key) {
      try {
        return Readable.from([await readFile(join(root, key))]);
      } catch {
        throw new BackupObjectNotFoundError(key);
      }
    },
    exists: (key) =>
      stat(join(root, key)).then(
        () => true,
        () => false,
      ),
    async *list(prefix) {
      const found: BackupObject[] = [];
      for (const dir of await readdir(root).catch(() => [] as string[]))
        for (const file of await readdir(join(root, dir)).catch(() => [] as string[])) {
          const key = `${dir}/${file}`;
          if (key.startsWith(prefix)) found.push({ key, bytes: (await stat(join(root, key))).size });
        }
      yield* found.sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    delete: (key) => rm(join(root, key), { force: true }),
  };
}

export interface FixtureBackup {
  readonly backupId: string;
  readonly events: readonly RecordedEvent[];
  readonly parent?: { readonly backupId: string; readonly to: Position };
  readonly eventsPerChunk?: number;
  readonly key?: BackupKey;
  readonly tenantId?: string;
}

export async function writeFixtureBackup(storage: BackupStorage, backup: FixtureBackup): Promise<BackupManifest> {
  const perChunk = backup.eventsPerChunk ?? 100;
  const chunks: BackupChunk[] = [];
  for (let i = 0; i * perChunk < backup.events.length; i++) {
    const slice = backup.events.slice(i * perChunk, (i + 1) * perChunk);
    const stored = await encodeChunk(slice.map((e) => JSON.stringify(toBackupEventRecord(e))).join('\n'), backup.key);
    const name = chunkName('database', i + 1, Boolean(backup.key));
    await storage.put(chunkKey(backup.backupId, name), stored);
    chunks.push({
      item: 'database',
      name,
      sha256: sha256Hex(stored),
      bytes: stored.length,
      events: slice.length,
      records: slice.length,
      firstPosition: formatPosition(slice[0]!.position),
      lastPosition: formatPosition(slice.at(-1)!.position),
    });
  }
  const from = backup.parent?.to ?? START;
  const manifest: BackupManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId: backup.backupId,
    name: backup.backupId,
    type: 'database',
    scope: backup.tenantId ? { tenantId: backup.tenantId } : {},
    position: { from: formatPosition(from), to: formatPosition(backup.events.at(-1)?.position ?? from) },
    eventCount: backup.events.length,
    chunks,
    encryption: backup.key ? { algorithm: 'aes-256-gcm', keyId: backup.key.keyId } : null,
    createdAt: new Date().toISOString(),
    createdBy: 'test',
    parentBackupId: backup.parent?.backupId ?? null,
    failedItems: [],
  };
  await publishManifest(storage, manifest);
  return manifest;
}

/** Flips one byte in the middle of a stored chunk (the manifest keeps the old sha256). */
export async function alterChunk(root: string, backupId: string, chunk: string): Promise<void> {
  const path = join(root, backupId, chunk);
  const bytes = await readFile(path);
  const middle = bytes.length >> 1;
  bytes[middle] = bytes[middle]! ^ 0xff;
  await writeFile(path, bytes);
}
