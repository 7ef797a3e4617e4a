import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from 'kysely';
import { Mutex } from './mutex.js';
import { createPgliteMaintenance, type PgliteMaintenance, type PgliteMaintenanceOptions } from './pglite-maintenance.js';
import type { Lease, SqlDatabase, SqlQueryable } from '../../ports/sql-database.js';

export const INT8_OID = 20;

export interface PgliteDatabaseOptions {
  /** A directory for the database files; undefined keeps everything in memory (tests). */
  readonly dataDir?: string;
  /** The buffer cache in MiB. PostgreSQL's 128 (the default) is most of PGlite's resident memory, and the
   * operating system caches the files beneath it anyway. */
  readonly sharedBuffersMb?: number;
  /** Analyze and vacuum as autovacuum would (on by default; see pglite-maintenance.ts). */
  readonly maintenance?: PgliteMaintenanceOptions | false;
}

/**
 * What the SqlDatabase needs of a PGlite: the instance itself (in this thread), or a stand-in that runs
 * one in a worker thread (pglite-worker-database.ts), so both share the mutex, transactions and Kysely.
 */
export interface PgliteSession {
  readonly closed: boolean;
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(script: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * PostgreSQL embedded as WebAssembly: the zero-setup default. PGlite has exactly one session, so a
 * process-wide mutex gives each transaction (and each Kysely connection) exclusive use of it; without it,
 * statements of concurrent callers would interleave inside each other's transactions.
 */
export async function createPgliteDatabase(options: PgliteDatabaseOptions = {}): Promise<SqlDatabase> {
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { pg_trgm },
    // One session, so no room for 100 connections' shared state (each slot costs memory up front).
    startParams: [
      ...PGlite.defaultStartParams,
      '-c',
      'max_connections=10',
      ...(options.sharedBuffersMb ? ['-c', `shared_buffers=${options.sharedBuffersMb}MB`] : []),
    ],
    // Same convention as the pg adapter: int8 as number; positions are selected as text.
    parsers: { [INT8_OID]: (value: string) => Number(value) },
  });
  return sqlDatabaseOverPglite(pglite, options);
}

/** The SqlDatabase over one PGlite session, wherever that session runs. */
export function sqlDatabaseOverPglite(pglite: PgliteSession, options: Pick<PgliteDatabaseOptions, 'maintenance'> = {}): SqlDatabase {
  const mutex = new Mutex();
  const leases = new Set<string>();
  const maintenance =
    options.maintenance === false
      ? undefined
      : createPgliteMaintenance(
          (text) => mutex.run(async () => (pglite.closed ? [] : ((await pglite.query(text)).rows as never[]))),
          options.maintenance,
        );

  const session: SqlQueryable = {
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await pglite.query<R>(text, params as unknown[] | undefined);
      maintenance?.noteRawWrite();
      return result.rows;
    },
  };

  const kysely = new Kysely<Record<string, never>>({ dialect: pgliteDialect(pglite, mutex, maintenance) });

  return {
    dialect: 'pglite',
    kysely,
    query: (text, params) => mutex.run(() => session.query(text, params)),
    exec: (script) => mutex.run(async () => void (await pglite.exec(script))),
    transaction: (fn) =>
      mutex.run(async () => {
        await pglite.query('BEGIN');
        try {
          const result = await fn(session);
          await pglite.query('COMMIT');
          return result;
        } catch (error) {
          await pglite.query('ROLLBACK');
          throw error;
        }
      }),
    async tryAcquireLease(key) {
      if (leases.has(key)) return undefined;
      leases.add(key);
      const lease: Lease = {
        key,
        lost: new Promise<Error>(() => undefined), // a process-local lock cannot be lost
        async release() {
          leases.delete(key);
        },
      };
      return lease;
    },
    async close() {
      await maintenance?.close();
      await mutex.run(async () => {
        if (!pglite.closed) await pglite.close();
      });
    },
  };
}

function pgliteDialect(pglite: PgliteSession, mutex: Mutex, maintenance: PgliteMaintenance | undefined): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createDriver: () => pgliteDriver(pglite, mutex, maintenance),
  };
}

function pgliteDriver(pglite: PgliteSession, mutex: Mutex, maintenance: PgliteMaintenance | undefined): Driver {
  const releases = new WeakMap<DatabaseConnection, () => void>();
  const run = (text: string) => pglite.query(text).then(() => undefined);
  return {
    async init() {},
    async acquireConnection() {
      const release = await mutex.lock();
      const connection: DatabaseConnection = {
        async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
          const result = await pglite.query<R>(compiled.sql, compiled.parameters as unknown[]);
          maintenance?.noteStatement(compiled.query, result.affectedRows);
          return {
            rows: result.rows,
            ...(result.affectedRows !== undefined ? { numAffectedRows: BigInt(result.affectedRows) } : {}),
          };
        },
        // eslint-disable-next-line require-yield
        async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
          throw new Error('streaming queries are not supported on PGlite');
        },
      };
      releases.set(connection, release);
      return connection;
    },
    beginTransaction: () => run('BEGIN'),
    commitTransaction: () => run('COMMIT'),
    rollbackTransaction: () => run('ROLLBACK'),
    async releaseConnection(connection) {
      releases.get(connection)?.();
      releases.delete(connection);
    },
    async destroy() {},
  };
}
