// Reading a range of the log in bulk, for backups: pages of stored events already serialized as backup
// records (NDJSON, see domain/backups/backup-format.ts). The SQL stores build the lines in the database
// (one string per page: no per-event object in Node); any other store pages through readAll.
//
// A reader is a cursor the caller pulls, asking each time for at most so many events: a backup streams its
// chunks in small pages (memory flat) and still cuts each chunk at exactly its size, and it can ask for the
// next page while the current one is compressed and stored.
import type { Position } from './event-store.js';

export interface EventExportRange {
  /** Exclusive. */
  readonly after: Position;
  /** Inclusive; at or below the store's head (so every event up to it is committed and visible). */
  readonly to: Position;
  /** Only events whose metadata.tenantId is this. */
  readonly tenantId?: string;
  /** Only streams of these categories. */
  readonly categories?: readonly string[];
}

export interface EventExportPage {
  /** BackupEventRecord JSON lines joined by '\n' (no trailing newline). */
  readonly ndjson: string;
  readonly count: number;
  readonly first: Position;
  readonly last: Position;
}

export interface EventExportReader {
  /**
   * The next events of the range in global order, at most `max` (≥ 1) and at least one, or undefined once
   * the range is exhausted. Calls are sequential: the caller awaits one before the next.
   */
  next(max: number): Promise<EventExportPage | undefined>;
}

export interface EventExport {
  open(range: EventExportRange): EventExportReader;
  /**
   * Optional: the position of the range's `count`-th event (from 1), or undefined when it holds fewer. It
   * lets a backup cut the range into chunks up front and read several at once (the SQL stores: a walk of
   * the primary key, far cheaper than building the lines).
   */
  positionAt?(range: EventExportRange, count: number): Promise<Position | undefined>;
}
