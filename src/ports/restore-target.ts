// The restore target port: an EMPTY event store that a backup's log is bulk-loaded into, keeping every
// event's stream, revision, id, time and global position. PostgreSQL and PGlite implement it
// (adapters/event-store/bulk-restore.ts); restores (commands/restores) drive it.
import type { BackupApiKeyRecord, BackupFileRecord } from '../domain/backups/index.js';
import { formatPosition, type Position, type RecordedEvent } from './event-store.js';

export interface BulkRestoreOptions {
  readonly restoreId: string;
  readonly backupId: string;
  /** Inclusive: stop after the event at this position. */
  readonly toPosition?: Position;
  /** Inclusive: stop before the first event recorded after this instant (the log's prefix up to T). */
  readonly toTime?: Date;
  /** API keys to write with the log, in its transaction; a key id the target holds already is kept as it is. */
  readonly apiKeys?: readonly BackupApiKeyRecord[];
  /** Called after each statement with the events written so far. */
  readonly onProgress?: (progress: { readonly events: number; readonly lastPosition: Position }) => void;
}

export interface BulkRestoreResult {
  readonly events: number;
  readonly streams: number;
  readonly firstPosition?: Position;
  readonly lastPosition?: Position;
  readonly lastRecordedAt?: Date;
  /** API keys written (options.apiKeys less those the target held already). */
  readonly apiKeys?: number;
}

/** Where the files part of a backup goes: a data directory (a database target has none). */
export interface RestoreFilesTarget {
  /** Writes one piece of a backed-up file into the directory; a path outside it (or its database) is refused. */
  write(record: BackupFileRecord): Promise<void>;
  /** The paths written so far, relative to the directory. */
  written(): readonly string[];
  /** Removes what was written (a restore that fails after them leaves the directory as it was). */
  undo(): Promise<void>;
}

export interface RestoreTarget {
  /** Where it is, for people (a database URL without its password, or a directory). */
  readonly description: string;
  /** All or nothing: either every event up to the asked end is committed, or the store is left empty. */
  restore(batches: AsyncIterable<readonly RecordedEvent[]>, options: BulkRestoreOptions): Promise<BulkRestoreResult>;
  /** Throws RestoreTargetNotEmptyError unless the store is empty (restore checks it too; this is for before files). */
  assertEmpty?(): Promise<void>;
  /** Present when the target is a data directory: the files part of a files/full backup goes there. */
  readonly files?: RestoreFilesTarget;
  close(): Promise<void>;
}

/** The target holds events or streams: a restore only ever goes into an empty store. */
export class RestoreTargetNotEmptyError extends Error {
  override readonly name = 'RestoreTargetNotEmptyError';
  constructor(
    readonly events: number,
    readonly streams: number,
  ) {
    super(`the target event store is not empty (${events} events, ${streams} streams): a restore goes only into an empty store`);
  }
}

/** The asked end (position or time) is outside what the backup holds, or the events are out of order. */
export class RestoreRangeError extends Error {
  override readonly name = 'RestoreRangeError';
  constructor(
    readonly field: 'toPosition' | 'toTime' | 'events',
    message: string,
  ) {
    super(message);
  }
}

export function outOfOrder(event: Position, previous: Position): RestoreRangeError {
  return new RestoreRangeError(
    'events',
    `the backup's events are out of order: ${formatPosition(event)} follows ${formatPosition(previous)}`,
  );
}
