// The targets a restore through the API may write to, and the rule that keeps them safe:
// - `{ dataDirectory: name }`: a NEW data directory for the embedded store, always under
//   DATA_DIR/restores/<tenant>/<name> (a name, never a path: no caller writes elsewhere on the disk, and
//   tenants never share one). Anyone who may restore may use it.
// - `{ databaseUrl }`: a PostgreSQL database the platform admin names. Without a password: the URL is
//   recorded on the restore's stream, so the service connects with DATABASE_URL's credentials (when the
//   URL names no user or the same user) or libpq's PGPASSWORD.
// A data directory also gets the files part of a files/full backup; a database cannot hold it (the restore's
// `parts.notRestored` says so). Either must be empty (no events, no streams) when asked and when the run starts; a run interrupted by
// a kill leaves only its marker on an empty store, and the next run starts over there.
// A data directory's PGlite runs in a worker thread (initdb and the bulk load never hold the event loop).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sqlRestoreTarget } from '../adapters/event-store/bulk-restore.js';
import { dataDirectoryFiles } from '../adapters/event-store/data-directory-files.js';
import { lockDataDirectory } from '../adapters/sql/data-directory-lock.js';
import { createPgDatabase } from '../adapters/sql/pg-database.js';
import { createWorkerPgliteDatabase } from '../adapters/sql/pglite-worker-database.js';
import type { Config } from '../config.js';
import type { RestoreTargetSpec } from '../domain/restores/restore-aggregate.js';
import type { RestoreTarget } from '../ports/restore-target.js';
import { DatabaseConnectionError } from '../ports/sql-database.js';

export const restoreDirectory = (config: Pick<Config, 'dataDir'>, tenantId: string, name: string) =>
  join(config.dataDir, 'restores', tenantId, name);

/** The URL to connect with: DATABASE_URL's credentials filled in where the target names none. */
function connectionUrl(config: Pick<Config, 'DATABASE_URL'>, url: string): string {
  const target = new URL(url);
  if (!config.DATABASE_URL || target.password) return target.toString();
  const live = new URL(config.DATABASE_URL);
  if (!target.username) target.username = live.username;
  if (target.username === live.username) target.password = live.password;
  return target.toString();
}

/** Whether the URL names the live database (same host, port and database). */
export function isLiveDatabase(config: Pick<Config, 'DATABASE_URL'>, url: string): boolean {
  if (!config.DATABASE_URL) return false;
  const [a, b] = [new URL(config.DATABASE_URL), new URL(url)];
  return a.hostname === b.hostname && (a.port || '5432') === (b.port || '5432') && a.pathname === b.pathname;
}

/** What the target holds now: `empty`, `not_empty` (with counts), or why it cannot be reached. */
export async function inspectRestoreTarget(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_CONNECT_TIMEOUT_MS'>,
  target: RestoreTargetSpec,
): Promise<{ state: 'empty' } | { state: 'not_empty'; detail: string } | { state: 'unreachable'; detail: string }> {
  if (target.kind === 'directory') {
    if (!existsSync(target.path)) return { state: 'empty' };
    const entries = readdirSync(target.path);
    return entries.length === 0 ? { state: 'empty' } : { state: 'not_empty', detail: `${target.path} exists and is not empty` };
  }
  const db = createPgDatabase({
    connectionString: connectionUrl(config, target.url),
    maxConnections: 1,
    applicationName: 'kyo-restore',
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  });
  try {
    // A table that does not exist is empty (a fresh database); the counts are asked only of those that do.
    const count = async (table: 'es_events' | 'es_streams') => {
      const [found] = await db.query<{ exists: boolean }>(`SELECT to_regclass('${table}') IS NOT NULL AS exists`);
      if (!found?.exists) return 0;
      const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
      return Number(row?.n ?? 0);
    };
    const events = await count('es_events');
    const streams = await count('es_streams');
    return events + streams === 0
      ? { state: 'empty' }
      : { state: 'not_empty', detail: `the database holds ${events} events in ${streams} streams` };
  } catch (error) {
    // Only a DatabaseConnectionError's words reach the caller: pg's own text names the host and port.
    if (error instanceof DatabaseConnectionError) return { state: 'unreachable', detail: error.message };
    throw error;
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** Opens the target for one run; a data directory is locked (as the service would) until it is closed. */
export async function openRestoreTarget(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_CONNECT_TIMEOUT_MS'>,
  target: RestoreTargetSpec,
): Promise<RestoreTarget> {
  if (target.kind === 'database')
    return sqlRestoreTarget(
      createPgDatabase({
        connectionString: connectionUrl(config, target.url),
        maxConnections: 2,
        applicationName: 'kyo-restore',
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      }),
      target.url,
    );
  const lock = lockDataDirectory(target.path, 'restore');
  try {
    const inner = sqlRestoreTarget(
      await createWorkerPgliteDatabase({ dataDir: join(target.path, 'pglite'), maintenance: false }),
      target.path,
      // The files part of a files/full backup goes into the directory too (a database target has none).
      dataDirectoryFiles(target.path),
    );
    return {
      ...inner,
      close: async () => {
        try {
          await inner.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
