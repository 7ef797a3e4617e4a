// A disaster restore: a backup's chain (its full backup, then each incremental, ending with it) read back
// chunk by chunk — each chunk verified against the manifest's size and sha256 before any of its events is
// used — and bulk-loaded into an empty event store, up to the end, a position or an instant.
//
// The target writes everything in one transaction, so a chunk that fails verification half-way, a missing
// link or a kill leave the target empty; nothing half-restored is served (see ports/restore-target.ts).
import type { BackupManifest } from '../../domain/backups/index.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { comparePositions, formatPosition, parsePosition, type Position, type RecordedEvent } from '../../ports/event-store.js';
import { RestoreRangeError, type BulkRestoreResult, type RestoreTarget } from '../../ports/restore-target.js';
import { fromBackupEventRecord, readBackupEventChunks, resolveBackupChain, type BackupKey } from '../backups/index.js';

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

export interface RestoredBackup extends BulkRestoreResult {
  readonly chain: readonly string[];
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
  onProgress?.({ events: 0, totalEvents });
  const result = await target.restore(chainEvents(sources.storage, chain, sources.key, request), {
    restoreId: request.restoreId,
    backupId: request.backupId,
    ...(request.toPosition ? { toPosition: request.toPosition } : {}),
    ...(request.toTime ? { toTime: request.toTime } : {}),
    onProgress: ({ events, lastPosition }) => onProgress?.({ events, totalEvents, lastPosition }),
  });
  return { ...result, chain: chain.map((manifest) => manifest.backupId) };
}
