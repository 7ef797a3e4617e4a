import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { DatabaseConnectionError, type Lease, type SqlDatabase, type SqlQueryable } from '../../ports/sql-database.js';

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
  /** A connection attempt that takes longer fails (DatabaseConnectionError `timeout`); default 5 s. pg waits forever without one. */
  readonly connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const NETWORK_CODES = new Set(['ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);

/**
 * pg's connection failures carry the host and port (`connect ECONNREFUSED 127.0.0.1:1`) or the user
 * (`password authentication failed for user "x"`): callers get a DatabaseConnectionError that says what
 * went wrong in words that name neither. Any other error (a query's) is returned as it is.
 */
export function connectionFailure(error: unknown, timeoutMs: number): unknown {
  if (error instanceof DatabaseConnectionError || !(error instanceof Error)) return error;
  const codes = [error, ...(error instanceof AggregateError ? error.errors : [])].map((e) => (e as { code?: unknown }).code);
  const has = (...wanted: string[]) => codes.some((code) => typeof code === 'string' && wanted.includes(code));
  const fail = (reason: DatabaseConnectionError['reason'], message: string) =>
    new DatabaseConnectionError(reason, message, { cause: error });
  if (has('ECONNREFUSED')) return fail('refused', 'the database server refused the connection (nothing listens at that address)');
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME')) return fail('unknown_host', 'the database host name does not resolve');
  if (/timeout exceeded when trying to connect|connection timeout|^timeout expired$/i.test(error.message))
    return fail('timeout', `the database server did not answer within ${timeoutMs} ms`);
  if (has('28P01', '28000')) return fail('authentication', 'the database server refused the credentials');
  if (has('3D000')) return fail('no_database', 'the database does not exist on that server');
  if (codes.some((code) => typeof code === 'string' && NETWORK_CODES.has(code)))
    return fail('network', 'the connection to the database server failed');
  return error;
}

export function createPgDatabase(options: PgDatabaseOptions): SqlDatabase {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 20,
    application_name: options.applicationName ?? 'kyo-platform',
    connectionTimeoutMillis: connectTimeoutMs,
    types,
  });
  // An idle client's error (server restart) must not crash the process; the pool replaces the client.
  pool.on('error', () => undefined);
  const clear = (error: unknown) => {
    throw connectionFailure(error, connectTimeoutMs);
  };
  const connect = () => pool.connect().catch(clear);
  // Kysely takes its connections through the same mapping.
  const kysely = new Kysely<Record<string, never>>({
    dialect: new PostgresDialect({ pool: { connect, end: () => pool.end() } }),
  });
  const leaseClients = new Set<pg.Client>();

  async function query<R>(text: string, params?: readonly unknown[]): Promise<R[]> {
    const result = await pool.query(text, params as unknown[] | undefined).catch(clear);
    return result.rows as R[];
  }

  return {
    dialect: 'postgres',
    kysely,
    query,
    async queryPrepared<R>(name: string, text: string, params: readonly unknown[]) {
      return (await pool.query({ name, text, values: params as unknown[] }).catch(clear)).rows as R[];
    },
    async exec(script) {
      await pool.query(script).catch(clear);
    },
    async transaction(fn) {
      const client = await connect();
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
      const client = new pg.Client({
        connectionString: options.connectionString,
        application_name: `lease:${key}`,
        connectionTimeoutMillis: connectTimeoutMs,
        types,
      });
      let onLost!: (error: Error) => void;
      const lost = new Promise<Error>((resolve) => (onLost = resolve));
      client.on('error', (error) => onLost(error));
      client.on('end', () => onLost(new Error(`lease ${key}: connection ended`)));
      await client.connect().catch(clear);
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
