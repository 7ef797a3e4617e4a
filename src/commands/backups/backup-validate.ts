// Validation re-reads a published backup: every chunk's size and sha256, its records (count, order, the
// positions the manifest states, inside the backup's range), the event count, and that the range joins
// its parent's. Errors make it invalid; warnings are what a restore should know (a partial backup, content
// that could not be decrypted here, objects the manifest does not name).
import {
  chunkKey,
  manifestKey,
  type BackupEventRecord,
  type BackupManifest,
  type BackupValidationIssue,
} from '../../domain/backups/index.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { comparePositions, parsePosition, type Position } from '../../ports/event-store.js';
import { BackupIntegrityError, decodeChunk, sha256Hex, type BackupKey } from './backup-codec.js';
import { readAll, readManifest } from './backup-manifest.js';

export interface BackupValidationResult {
  readonly valid: boolean;
  readonly errors: BackupValidationIssue[];
  readonly warnings: BackupValidationIssue[];
}

export async function validateBackup(
  storage: BackupStorage,
  manifest: BackupManifest,
  options: { key?: BackupKey } = {},
): Promise<BackupValidationResult> {
  const errors: BackupValidationIssue[] = [];
  const warnings: BackupValidationIssue[] = [];
  const from = parsePosition(manifest.position.from)!;
  const to = parsePosition(manifest.position.to)!;
  if (comparePositions(from, to) > 0)
    errors.push({
      field: 'position',
      message: `the range starts after it ends (${manifest.position.from} > ${manifest.position.to})`,
      code: 'range.inverted',
    });

  if (manifest.parentBackupId) {
    const parent = await readManifest(storage, manifest.parentBackupId).catch(() => undefined);
    if (!parent)
      errors.push({
        field: 'parentBackupId',
        message: `the parent backup ${manifest.parentBackupId} is not in the backup storage`,
        code: 'parent.missing',
      });
    else if (parent.position.to !== manifest.position.from)
      errors.push({
        field: 'parentBackupId',
        message: `the parent ends at ${parent.position.to} but this backup starts after ${manifest.position.from}`,
        code: 'parent.not_contiguous',
      });
  }
  const decrypts = !manifest.encryption || options.key?.keyId === manifest.encryption.keyId;
  if (!decrypts)
    warnings.push({
      field: 'encryption',
      message: `chunks are encrypted with key ${manifest.encryption!.keyId}, which is not configured here: checksums verified, contents not`,
      code: 'encryption.key_unavailable',
    });
  for (const failed of manifest.failedItems)
    warnings.push({ field: `items.${failed.item}`, message: `not in this backup: ${failed.reason}`, code: 'item.failed' });

  let events = 0;
  const previous = new Map<string, Position>();
  for (const [index, chunk] of manifest.chunks.entries()) {
    const field = `chunks[${index}]`;
    const issue = (message: string, code: string) => errors.push({ field, message: `${chunk.name}: ${message}`, code });
    events += chunk.events;
    let stored: Buffer;
    try {
      stored = await readAll(await storage.get(chunkKey(manifest.backupId, chunk.name)));
    } catch (error) {
      issue(`cannot be read: ${(error as Error).message}`, 'chunk.unreadable');
      continue;
    }
    if (stored.length !== chunk.bytes) issue(`${stored.length} bytes, the manifest says ${chunk.bytes}`, 'chunk.size_mismatch');
    const sha = sha256Hex(stored);
    if (sha !== chunk.sha256) {
      issue(`sha256 ${sha}, the manifest says ${chunk.sha256}`, 'chunk.sha256_mismatch');
      continue;
    }
    if (!decrypts) continue;
    let lines: string[];
    try {
      const text = await decodeChunk(chunk.name, stored, manifest.encryption, options.key);
      lines = text.length === 0 ? [] : text.split('\n');
    } catch (error) {
      issue(error instanceof BackupIntegrityError ? error.message : String(error), 'chunk.undecodable');
      continue;
    }
    if (lines.length !== chunk.records) issue(`${lines.length} records, the manifest says ${chunk.records}`, 'chunk.count_mismatch');
    if (chunk.item === 'files' || chunk.item === 'api-keys') continue;
    if (chunk.events !== chunk.records) issue(`${chunk.events} events but ${chunk.records} records`, 'chunk.count_mismatch');
    let last = previous.get(chunk.item) ?? from;
    let first: string | undefined;
    let lastText: string | undefined;
    for (const [n, line] of lines.entries()) {
      let record: BackupEventRecord;
      try {
        record = JSON.parse(line) as BackupEventRecord;
      } catch {
        issue(`record ${n + 1} is not JSON`, 'record.invalid');
        break;
      }
      const position = typeof record.position === 'string' ? parsePosition(record.position) : undefined;
      if (!position) {
        issue(`record ${n + 1} has no position`, 'record.invalid');
        break;
      }
      if (comparePositions(position, last) <= 0) {
        issue(`record ${n + 1} at ${record.position} does not follow ${last.commit}.${last.prepare}`, 'record.out_of_order');
        break;
      }
      if (comparePositions(position, to) > 0) {
        issue(`record ${n + 1} at ${record.position} is past the backup's end ${manifest.position.to}`, 'record.out_of_range');
        break;
      }
      last = position;
      first ??= record.position;
      lastText = record.position;
    }
    previous.set(chunk.item, last);
    if (lines.length > 0 && (first !== chunk.firstPosition || lastText !== chunk.lastPosition))
      issue('its first or last position differs from the manifest', 'chunk.position_mismatch');
  }
  if (events !== manifest.eventCount)
    errors.push({
      field: 'eventCount',
      message: `the chunks hold ${events} events, the manifest says ${manifest.eventCount}`,
      code: 'manifest.count_mismatch',
    });

  const named = new Set([manifestKey(manifest.backupId), ...manifest.chunks.map((chunk) => chunkKey(manifest.backupId, chunk.name))]);
  for await (const object of storage.list(`${manifest.backupId}/`))
    if (!named.has(object.key))
      warnings.push({ field: 'storage', message: `${object.key} is not named by the manifest`, code: 'storage.unexpected_object' });
  if (manifest.eventCount === 0 && manifest.type !== 'files')
    warnings.push({ field: 'eventCount', message: 'the backup holds no events', code: 'backup.empty' });
  return { valid: errors.length === 0, errors, warnings };
}
