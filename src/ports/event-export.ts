// Reading a range of the log in bulk, for backups: pages of stored events already serialized as backup
// records (NDJSON, see domain/backups/backup-format.ts). The SQL stores build the lines in the database
// (one string per page: no per-event object in Node); any other store pages through readAll.
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
  readonly pageSize: number;
}

export interface EventExportPage {
  /** BackupEventRecord JSON lines joined by '\n' (no trailing newline). */
  readonly ndjson: string;
  readonly count: number;
  readonly first: Position;
  readonly last: Position;
}

export interface EventExport {
  /** Pages in global order; each non-empty. Ends after the last event at or before `to`. */
  pages(range: EventExportRange): AsyncIterable<EventExportPage>;
}
