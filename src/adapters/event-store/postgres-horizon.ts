// The visibility horizon of the SQL event store. Readers stop below the oldest transaction that may still
// write to this database's log (es_horizon: transactions of other databases are skipped once the server
// shows where they run), so one long transaction holds every subscriber back while appends keep committing
// above it. This makes that visible, and tells
// an acknowledged position that is merely not visible yet apart from one that no event has.
import type { SqlDatabase } from '../../ports/sql-database.js';
import type { HorizonProbe } from '../../ports/store-horizon.js';

const COUNT_CAP = 1_000_000;

// The transaction's age comes from pg_stat_activity (and pg_prepared_xacts), whose start times a role
// without pg_read_all_stats cannot see for other roles' sessions. So it is floored by the age of the first
// committed event above the horizon: that event's transaction got its id after the one holding the horizon,
// so the holder is at least that old.
const HORIZON_SQL = `
WITH horizon AS MATERIALIZED (SELECT es_horizon() AS xmin)
SELECT
  (SELECT count(*)::int FROM (SELECT 1 FROM es_events e WHERE e.transaction_id >= (SELECT xmin FROM horizon) LIMIT ${COUNT_CAP}) above) AS events,
  (SELECT extract(epoch FROM clock_timestamp() - e.recorded_at)::float8 FROM es_events e
    WHERE e.transaction_id >= (SELECT xmin FROM horizon) ORDER BY e.transaction_id, e.global_position LIMIT 1) AS first_event_age,
  (SELECT extract(epoch FROM clock_timestamp() - min(a.xact_start))::float8 FROM pg_stat_activity a
    WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid() AND a.datname = current_database()) AS transaction_age,
  (SELECT extract(epoch FROM clock_timestamp() - min(p.prepared))::float8 FROM pg_prepared_xacts p) AS prepared_age`;

// Rows of committed transactions are visible to a fresh statement even above the horizon.
const ACKNOWLEDGED_HEAD_SQL = `SELECT e.transaction_id::text AS commit_position, e.global_position::text AS prepare_position
  FROM es_events e ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1`;

export function postgresHorizon(db: SqlDatabase): HorizonProbe {
  return {
    async horizon() {
      const [row] = await db.query<{
        events: number;
        first_event_age: number | null;
        transaction_age: number | null;
        prepared_age: number | null;
      }>(HORIZON_SQL);
      const events = row?.events ?? 0;
      const ages = [row?.transaction_age, row?.prepared_age, events > 0 ? row?.first_event_age : null].map((age) =>
        Math.max(0, Number(age ?? 0)),
      );
      return { oldestTransactionSeconds: Math.max(...ages), eventsAboveHorizon: events };
    },
    async acknowledgedHead() {
      const [row] = await db.query<{ commit_position: string; prepare_position: string }>(ACKNOWLEDGED_HEAD_SQL);
      return row ? { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) } : undefined;
    },
  };
}
