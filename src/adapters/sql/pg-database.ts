import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Lease, SqlDatabase, SqlQueryable } from '../../ports/sql-database.js';

const INT8_OID = 20;

// int8 as a JS number: counts and sums in read models stay far below 2^53. Values that can exceed it
// (global positions, transaction ids) are selected as text and turned into bigint explicitly.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PgDatabaseOptions {
  readonly connectionString: string;
  readonly maxConnections?: number;
  readonly applicationName?: string;
}

export function createPgDatabase(options: PgDatabaseOptions): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 20,
    application_name: options.applicationName ?? 'kyo-platform',
    types,
  });
  // An idle client's error (server restart) must not crash the process; the pool replaces the client.
  pool.on('error', () => undefined);
  const kysely = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
  const leaseClients = new Set<pg.Client>();

  async function query<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
    const result = await pool.query(text, params as unknown[] | undefined);
    return result.rows as R[];
  }

  return {
    dialect: 'postgres',
    kysely,
    query,
    async queryPrepared<R>(name: string, text: string, params: readonly unknown[]) {
      return (await pool.query({ name, text, values: params as unknown[] })).rows as R[];
    },
    async exec(script) {
      await pool.query(script);
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const tx: SqlQueryable = {
          async query<R>(text: string, params?: readonly unknown[]) {
            return (await client.query(text, params as unknown[] | undefined)).rows as R[];
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async tryAcquireLease(key) {
      const client = new pg.Client({ connectionString: options.connectionString, application_name: `lease:${key}`, types });
      let onLost!: (error: Error) => void;
      const lost = new Promise<Error>((resolve) => (onLost = resolve));
      client.on('error', (error) => onLost(error));
      client.on('end', () => onLost(new Error(`lease ${key}: connection ended`)));
      await client.connect();
      const rows = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [leaseKeyToBigint(key).toString()]);
      if (!rows.rows[0]?.locked) {
        await client.end();
        return undefined;
      }
      leaseClients.add(client);
      const lease: Lease = {
        key,
        lost,
        async release() {
          if (!leaseClients.delete(client)) return;
          // Ending the session releases the advisory lock.
          await client.end().catch(() => undefined);
        },
      };
      return lease;
    },
    async close() {
      await Promise.all([...leaseClients].map((client) => client.end().catch(() => undefined)));
      leaseClients.clear();
      await kysely.destroy(); // ends the pool too
    },
  };
}

/** Stable 63-bit key for pg_advisory_lock from a lease name (FNV-1a, so every instance agrees). */
export function leaseKeyToBigint(key: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash & 0x7fffffffffffffffn;
}
