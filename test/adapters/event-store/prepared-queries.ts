// Gives a pg-backed SqlDatabase the optional `queryPrepared` capability (named, server-prepared
// statements) when it does not have it yet, so the event store's prepared path is exercised by the
// contract. The statements run on a second pool of the same size.
import pg from 'pg';
import type { PreparedQueries } from '../../../src/adapters/event-store/postgres-event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';

export function withPreparedQueries(db: SqlDatabase, connectionString: string, maxConnections = 16): SqlDatabase & PreparedQueries {
  if ((db as SqlDatabase & PreparedQueries).queryPrepared) return db;
  const pool = new pg.Pool({ connectionString, max: maxConnections });
  pool.on('error', () => undefined);
  return {
    ...db,
    async queryPrepared<R>(name: string, text: string, params: readonly unknown[]) {
      return (await pool.query({ name, text, values: params as unknown[] })).rows as R[];
    },
    async close() {
      await pool.end();
      await db.close();
    },
  };
}
