// A scratch event store for restore drills: empty when made, private to one drill, dropped after it.
// PostgreSQL: a database of its own on the same server; PGlite: an in-memory instance.
import type { EventStore } from './event-store.js';
import type { RestoreTarget } from './restore-target.js';
import type { SqlDatabase } from './sql-database.js';

export interface ScratchStore {
  /** The scratch database: the restored log's tables and the drill's read-model schemas live here. */
  readonly db: SqlDatabase;
  readonly eventStore: EventStore;
  /** Restores into this scratch store (closing it does not drop it; `drop` does). */
  readonly target: RestoreTarget;
  /** Removes everything the drill made. Safe to call twice. */
  drop(): Promise<void>;
}

export type ScratchStores = (name: string) => Promise<ScratchStore>;
