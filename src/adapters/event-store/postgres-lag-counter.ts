import type { Position } from '../../ports/event-store.js';
import type { SqlDatabase } from '../../ports/sql-database.js';

const LAG_COUNT_CAP = 1_000_000;

/** Projection lag on the SQL event store: events after a checkpoint (counted up to a cap) and the age of
 * the first of them, by index range scans instead of reading the events. */
export function postgresLagCounter(db: SqlDatabase) {
  return async (after: Position): Promise<{ events: number; oldestRecordedAt?: Date }> => {
    const [row] = await db.query<{ events: number; oldest: Date | null }>(
      `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM es_events e WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)
                 AND e.transaction_id < es_horizon() LIMIT ${LAG_COUNT_CAP}) capped) AS events,
              (SELECT e.recorded_at FROM es_events e WHERE (e.transaction_id, e.global_position) > ($1::text::xid8, $2::bigint)
                 AND e.transaction_id < es_horizon() ORDER BY e.transaction_id, e.global_position LIMIT 1) AS oldest`,
      [after.commit.toString(), after.prepare.toString()],
    );
    return { events: row?.events ?? 0, ...(row?.oldest ? { oldestRecordedAt: new Date(row.oldest) } : {}) };
  };
}
