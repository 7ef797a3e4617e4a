// A disaster restore: a backup's chain (its full backup, then each incremental, ending with it) read back
// chunk by chunk — each chunk verified against the manifest's size and sha256 before any of its events is
// used — and bulk-loaded into an empty event store, up to the end, a position or an instant.
//
// The target writes everything in one transaction, so a chunk that fails verification half-way, a missing
// link or a kill leave the target empty; nothing half-restored is served (see ports/restore-target.ts).
//
// Beside the log: the api keys of a full backup go in with it (same transaction), and the files part of a
// files/full backup goes into a data directory target first (removed again if the log then fails). What
// could not be restored (files into a database, a part the backup lacks) is said in `parts.notRestored`.
import type { BackupApiKeyRecord, BackupItem, BackupManifest } from '../../domain/backups/index.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { comparePositions, formatPosition, parsePosition, type Position, type RecordedEvent } from '../../ports/event-store.js';
import { RestoreRangeError, type BulkRestoreResult, type RestoreTarget } from '../../ports/restore-target.js';
import {
  fromBackupEventRecord,
  readBackupApiKeys,
  readBackupEventChunks,
  readBackupFileChunks,
  resolveBackupChain,
  type BackupKey,
} from '../backups/index.js';

export interface RestoreRequest {
  readonly restoreId: string;
  readonly backupId: string;
  readonly toPosition?: Position;
  readonly toTime?: Date;
}

export interface RestoreProgress {
  readonly events: number;
  /** Events the chain holds (an upper bound when the restore stops at a position or time). */
  readonly totalEvents: number;
  readonly lastPosition?: Position;
}

export interface RestoreSources {
  readonly storage: BackupStorage;
  /** BACKUP_ENCRYPTION_KEY, for encrypted backups. */
  readonly key?: BackupKey;
  readonly clock: () => Date;
}

/** The parts of a backup: its log, the files of its data directory, its api keys. */
export type RestorePart = 'log' | 'files' | 'api-keys';

export interface RestoredParts {
  readonly restored: RestorePart[];
  readonly notRestored: { part: RestorePart; reason: string }[];
}

export interface RestoredBackup extends BulkRestoreResult {
  readonly chain: readonly string[];
  readonly parts: RestoredParts;
  /** Files written into a data directory target, relative to it. */
  readonly files: readonly string[];
}

const holds = (chain: readonly BackupManifest[], item: BackupItem) =>
  chain.some((manifest) => manifest.chunks.some((chunk) => chunk.item === item));

/** The chain's keys, the newest backup's row winning (a key revoked since the full backup stays revoked). */
export async function chainApiKeys(
  storage: BackupStorage,
  chain: readonly BackupManifest[],
  key: BackupKey | undefined,
): Promise<BackupApiKeyRecord[]> {
  const keys = new Map<string, BackupApiKeyRecord>();
  for (const manifest of chain)
    for (const record of await readBackupApiKeys(storage, manifest, key ? { key } : {})) keys.set(record.keyId, record);
  return [...keys.values()];
}

/** Checks the asked end against the chain before a single chunk is read. */
export function checkRestoreRange(chain: readonly BackupManifest[], request: RestoreRequest, now: Date): void {
  if (request.toTime && request.toTime.getTime() > now.getTime())
    throw new RestoreRangeError('toTime', `toTime ${request.toTime.toISOString()} is in the future (now is ${now.toISOString()})`);
  const last = chain.at(-1)!;
  const end = parsePosition(last.position.to)!;
  if (request.toPosition && comparePositions(request.toPosition, end) > 0)
    throw new RestoreRangeError(
      'toPosition',
      `toPosition ${formatPosition(request.toPosition)} is after the end of backup ${last.backupId} (${last.position.to})`,
    );
  if (chain.reduce((sum, manifest) => sum + manifest.eventCount, 0) === 0 && (request.toPosition || request.toTime))
    throw new RestoreRangeError(request.toPosition ? 'toPosition' : 'toTime', `backup ${last.backupId} holds no events`);
}

/** The chain's events in global order, one verified chunk at a time. */
export async function* chainEvents(
  storage: BackupStorage,
  chain: readonly BackupManifest[],
  key: BackupKey | undefined,
  request: Pick<RestoreRequest, 'toPosition' | 'toTime'>,
): AsyncGenerator<readonly RecordedEvent[]> {
  const options = {
    ...(key ? { key } : {}),
    ...(request.toPosition ? { upTo: request.toPosition } : {}),
    ...(request.toTime ? { until: request.toTime } : {}),
  };
  for (const manifest of chain) {
    for await (const { records } of readBackupEventChunks(storage, manifest, options)) yield records.map(fromBackupEventRecord);
  }
}

export async function restoreBackup(
  sources: RestoreSources,
  target: RestoreTarget,
  request: RestoreRequest,
  onProgress?: (progress: RestoreProgress) => void,
): Promise<RestoredBackup> {
  const chain = await resolveBackupChain(sources.storage, request.backupId);
  checkRestoreRange(chain, request, sources.clock());
  const totalEvents = chain.reduce((sum, manifest) => sum + manifest.eventCount, 0);
  const notRestored: { part: RestorePart; reason: string }[] = [];
  for (const manifest of chain)
    for (const failed of manifest.failedItems)
      notRestored.push({
        part: failed.item === 'files' || failed.item === 'api-keys' ? failed.item : 'log',
        reason: `failed in backup ${manifest.backupId}: ${failed.reason}`,
      });
  const apiKeys = holds(chain, 'api-keys') ? await chainApiKeys(sources.storage, chain, sources.key) : undefined;
  if (!apiKeys) notRestored.push({ part: 'api-keys', reason: 'the backup holds no api keys (a full backup does)' });
  const withFiles = holds(chain, 'files');
  if (withFiles && !target.files)
    notRestored.push({ part: 'files', reason: 'the target is a database: the files part is restored only into a data directory' });
  // Files go in before the log: first make sure the target is empty, so that no file of a live data
  // directory is overwritten (and then removed by the undo below).
  if (withFiles && target.files) await target.assertEmpty?.();
  try {
    if (withFiles && target.files)
      for (const manifest of chain)
        for await (const { records } of readBackupFileChunks(sources.storage, manifest, sources.key ? { key: sources.key } : {}))
          for (const record of records) await target.files.write(record);
    onProgress?.({ events: 0, totalEvents });
    const result = await target.restore(chainEvents(sources.storage, chain, sources.key, request), {
      restoreId: request.restoreId,
      backupId: request.backupId,
      ...(request.toPosition ? { toPosition: request.toPosition } : {}),
      ...(request.toTime ? { toTime: request.toTime } : {}),
      ...(apiKeys ? { apiKeys } : {}),
      onProgress: ({ events, lastPosition }) => onProgress?.({ events, totalEvents, lastPosition }),
    });
    const restored: RestorePart[] = [
      'log',
      ...(withFiles && target.files ? (['files'] as const) : []),
      ...(apiKeys ? (['api-keys'] as const) : []),
    ];
    return {
      ...result,
      chain: chain.map((manifest) => manifest.backupId),
      parts: { restored, notRestored },
      files: target.files?.written() ?? [],
    };
  } catch (error) {
    await target.files?.undo().catch(() => undefined);
    throw error;
  }
}
