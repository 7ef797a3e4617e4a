// The SQL database port: PostgreSQL (pg) and the embedded PGlite implement it (adapters/sql).
import type { Kysely } from 'kysely';

/** The smallest SQL surface the event store and the job queue need. Both PostgreSQL (pg) and the
 * embedded PGlite implement it, so the same SQL runs on both. */
export interface SqlQueryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface SqlDatabase extends SqlQueryable {
  readonly dialect: 'postgres' | 'pglite';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Runs several statements separated by semicolons (schema scripts). */
  exec(script: string): Promise<void>;
  /**
   * Optional: runs `text` as a named statement that the server parses and plans once per connection.
   * pg offers it; PGlite does not (the event store then uses plain queries).
   */
  queryPrepared?<R = Record<string, unknown>>(name: string, text: string, params: readonly unknown[]): Promise<R[]>;
  /** Kysely over the same connections (read models). Table types are given per read model. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each read model narrows it with withTables<T>()
  readonly kysely: Kysely<any>;
  /**
   * Holds a session-level lease named `key` until `release` is called or the process dies.
   * PostgreSQL: an advisory lock on a dedicated connection. PGlite: one process owns the data directory,
   * so the lease is a process-local lock.
   */
  tryAcquireLease(key: string): Promise<Lease | undefined>;
  close(): Promise<void>;
}

export interface Lease {
  readonly key: string;
  /** Resolves with an error when the lease is lost (its connection died). */
  readonly lost: Promise<Error>;
  release(): Promise<void>;
}

/**
 * A connection to a database could not be made (refused, unknown host, timed out, authentication, no
 * such database). The message says which, in words a caller may be shown: never the host, port, user
 * or the driver's own text (kept as `cause` for the log).
 */
export class DatabaseConnectionError extends Error {
  override readonly name = 'DatabaseConnectionError';
  constructor(
    readonly reason: 'refused' | 'unknown_host' | 'timeout' | 'authentication' | 'no_database' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
