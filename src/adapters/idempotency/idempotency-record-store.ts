// Which request an Idempotency-Key was first used for. The command id (derived from tenant, principal,
// route and key) is the row's key; the fingerprint is a digest of the request (path parameters, query,
// body). A replay needs the same fingerprint; another one is refused before the command runs.
import type { IdempotencyRecordStore } from '../../ports/idempotency-records.js';
import type { SqlDatabase } from '../../ports/sql-database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  command_id text PRIMARY KEY,
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);`;

export function createIdempotencyRecordStore(db: SqlDatabase): IdempotencyRecordStore {
  return {
    migrate: () => db.exec(SCHEMA),
    async bind(commandId, fingerprint) {
      // One statement: of two concurrent first uses one inserts, the other reads the winner's fingerprint.
      const inserted = await db.query(
        'INSERT INTO idempotency_keys (command_id, fingerprint) VALUES ($1, $2) ON CONFLICT (command_id) DO NOTHING RETURNING command_id',
        [commandId, fingerprint],
      );
      if (inserted.length > 0) return 'first';
      const [row] = await db.query<{ fingerprint: string }>('SELECT fingerprint FROM idempotency_keys WHERE command_id = $1', [commandId]);
      return row?.fingerprint === fingerprint ? 'same' : 'other';
    },
  };
}
