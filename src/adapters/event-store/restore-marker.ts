// The restore marker: one row that a bulk restore commits before it writes any event and deletes in the
// same transaction that commits the last one. A store holding it is not to be served: either a restore is
// running into it or one was killed (its events were rolled back with its transaction, the marker stayed).
// The service's start (migrateEventStore) refuses such a store with a message that says what to do.
import type { SqlQueryable } from '../../ports/sql-database.js';

export const RESTORE_MARKER_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS es_restore_in_progress (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  restore_id text        NOT NULL,
  backup_id  text        NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
)`;

export interface RestoreMarker {
  readonly restoreId: string;
  readonly backupId: string;
  readonly startedAt: Date;
}

export class UnfinishedRestoreError extends Error {
  override readonly name = 'UnfinishedRestoreError';
  constructor(readonly marker: RestoreMarker) {
    super(
      `this event store is the target of restore ${marker.restoreId} (backup ${marker.backupId}, started ${marker.startedAt.toISOString()}), ` +
        'which has not finished: it is refused until the restore completes. If that restore was interrupted, run it again ' +
        '(npm run restore -- --from … --backup … --target …; it starts over, nothing of the interrupted run was kept) or drop this database.',
    );
  }
}

/** The marker, if this store holds one (a store made before restores existed has no marker table). */
export async function readRestoreMarker(db: SqlQueryable): Promise<RestoreMarker | undefined> {
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('es_restore_in_progress') IS NOT NULL AS exists`);
  if (!table?.exists) return undefined;
  const [row] = await db.query<{ restore_id: string; backup_id: string; started_at: Date | string }>(
    'SELECT restore_id, backup_id, started_at FROM es_restore_in_progress',
  );
  return row ? { restoreId: row.restore_id, backupId: row.backup_id, startedAt: new Date(row.started_at) } : undefined;
}

export async function assertNoUnfinishedRestore(db: SqlQueryable): Promise<void> {
  const marker = await readRestoreMarker(db);
  if (marker) throw new UnfinishedRestoreError(marker);
}
