// Bulk restore of a backed-up log into an EMPTY PostgreSQL or PGlite event store.
//
// Events keep their stream ids, revisions, ids, recorded times and global positions: each row is written
// with its original commit position (transaction_id) and sequence number (global_position), the sequence is
// then moved past the largest, and es_realign_positions() raises the commit offset so that every new append
// sorts after the restored log (see postgres-schema.ts). Read-model checkpoints and positions clients hold
// therefore stay valid.
//
// A restored store starts with side effects paused (side-effects-pause.ts), committed with the log.
// Nothing half-restored is served. The marker (restore-marker.ts) is committed first; then every event is
// written in ONE transaction, which also builds the stream rows and deletes the marker. A chunk that fails
// its checksum (the reader throws), a crash or a kill roll that transaction back: the store is left empty,
// and with the marker only when the process died, so a service started on it refuses to start and says why.
// Rows go in as column arrays through unnest(), thousands per statement: no per-event round trip.
import { insertRestoredApiKeys } from '../auth/api-key-store.js';
import { comparePositions, formatPosition, type RecordedEvent } from '../../ports/event-store.js';
import {
  RestoreRangeError,
  RestoreTargetNotEmptyError,
  outOfOrder,
  type BulkRestoreOptions,
  type BulkRestoreResult,
  type RestoreFilesTarget,
  type RestoreTarget,
} from '../../ports/restore-target.js';
import type { SqlDatabase, SqlQueryable } from '../../ports/sql-database.js';
import { applyEventStoreSchema } from './postgres-event-store.js';
import { RESTORE_MARKER_SCHEMA, readRestoreMarker } from './restore-marker.js';
import { pauseSideEffects } from './side-effects-pause.js';

/** Rows per INSERT statement: large enough that round trips vanish, small enough to keep memory flat. */
const ROWS_PER_STATEMENT = 5000;

export async function bulkRestore(
  db: SqlDatabase,
  batches: AsyncIterable<readonly RecordedEvent[]>,
  options: BulkRestoreOptions,
): Promise<BulkRestoreResult> {
  await assertEmptyStore(db);
  const previous = await readRestoreMarker(db);
  await db.query(
    `INSERT INTO es_restore_in_progress (restore_id, backup_id) VALUES ($1, $2)
       ON CONFLICT (singleton) DO UPDATE SET restore_id = excluded.restore_id, backup_id = excluded.backup_id, started_at = now()`,
    [options.restoreId, options.backupId],
  );
  try {
    return await db.transaction((tx) => writeAll(tx, batches, options));
  } catch (error) {
    // Rolled back: the store is empty again, so it carries no marker (a kill leaves it, see above). A
    // marker of an earlier interrupted restore is put back as it was.
    if (previous)
      await db
        .query('UPDATE es_restore_in_progress SET restore_id = $1, backup_id = $2', [previous.restoreId, previous.backupId])
        .catch(() => undefined);
    else await db.query('DELETE FROM es_restore_in_progress').catch(() => undefined);
    throw error;
  }
}

/** Refuses (RestoreTargetNotEmptyError) a store holding events or streams; makes the schema of an empty one. */
async function assertEmptyStore(db: SqlDatabase): Promise<void> {
  await applyEventStoreSchema(db);
  await db.exec(RESTORE_MARKER_SCHEMA);
  const [counts] = await db.query<{ events: string; streams: string }>(
    'SELECT (SELECT count(*) FROM es_events)::text AS events, (SELECT count(*) FROM es_streams)::text AS streams',
  );
  // A marker on an empty store is what a killed restore leaves (its transaction rolled back): start over.
  if (Number(counts!.events) > 0 || Number(counts!.streams) > 0)
    throw new RestoreTargetNotEmptyError(Number(counts!.events), Number(counts!.streams));
}

async function writeAll(
  tx: SqlQueryable,
  batches: AsyncIterable<readonly RecordedEvent[]>,
  options: BulkRestoreOptions,
): Promise<BulkRestoreResult> {
  let written = 0;
  let first: RecordedEvent | undefined;
  let last: RecordedEvent | undefined;
  let pending: RecordedEvent[] = [];
  let reachedEnd = false;
  // The store is empty and this transaction owns it: its indexes are dropped here and built once at the
  // end (a build sorts once; maintaining four indexes row by row cost most of the load). Transactional DDL:
  // a rollback brings them back.
  const indexes = await tx.query<{ name: string; definition: string; is_primary: boolean }>(
    `SELECT c.relname AS name, CASE WHEN x.indisprimary THEN pg_get_constraintdef(k.oid) ELSE pg_get_indexdef(x.indexrelid) END AS definition,
            x.indisprimary AS is_primary
       FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
       LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.contype = 'p'
      WHERE x.indrelid = 'es_events'::regclass`,
  );
  for (const index of indexes)
    await tx.query(index.is_primary ? `ALTER TABLE es_events DROP CONSTRAINT "${index.name}"` : `DROP INDEX "${index.name}"`);

  const flush = async () => {
    if (pending.length === 0) return;
    await insertRows(tx, pending);
    written += pending.length;
    pending = [];
    options.onProgress?.({ events: written, lastPosition: last!.position });
  };

  for await (const batch of batches) {
    for (const event of batch) {
      if (last && comparePositions(event.position, last.position) <= 0) throw outOfOrder(event.position, last.position);
      if (!first) checkRangeStart(event, options);
      if (options.toPosition && comparePositions(event.position, options.toPosition) > 0) reachedEnd = true;
      if (options.toTime && event.recordedAt.getTime() > options.toTime.getTime()) reachedEnd = true;
      if (reachedEnd) break;
      first ??= event;
      last = event;
      pending.push(event);
      if (pending.length >= ROWS_PER_STATEMENT) await flush();
    }
    if (reachedEnd) break;
  }
  await flush();
  await tx.query(`SET LOCAL maintenance_work_mem = '256MB'`);
  for (const index of indexes)
    await tx.query(index.is_primary ? `ALTER TABLE es_events ADD CONSTRAINT "${index.name}" ${index.definition}` : index.definition);

  // Stream rows from the restored events; the sequence past the largest; new commits after the last one.
  await tx.query(
    `INSERT INTO es_streams (stream_id, last_revision) SELECT stream_id, max(stream_revision) FROM es_events GROUP BY stream_id`,
  );
  if (last)
    await tx.query(`SELECT setval(pg_get_serial_sequence('es_events', 'global_position'), $1::bigint)`, [last.position.prepare.toString()]);
  await tx.query('SELECT es_realign_positions()');
  await tx.query('DELETE FROM es_restore_in_progress');
  // The backed-up keys (hashes) with the log: a restored instance authenticates who could before the cut.
  const apiKeys = options.apiKeys ? await insertRestoredApiKeys(tx, options.apiKeys) : undefined;
  // Committed with the log: a service started on it acts outside only once an operator resumes it.
  await pauseSideEffects(tx, `restored from backup ${options.backupId} (restore ${options.restoreId})`);
  const [streams] = await tx.query<{ n: string }>('SELECT count(*)::text AS n FROM es_streams');
  return {
    events: written,
    streams: Number(streams!.n),
    ...(first ? { firstPosition: first.position } : {}),
    ...(last ? { lastPosition: last.position, lastRecordedAt: last.recordedAt } : {}),
    ...(apiKeys === undefined ? {} : { apiKeys }),
  };
}

function checkRangeStart(event: RecordedEvent, options: BulkRestoreOptions): void {
  if (options.toPosition && comparePositions(options.toPosition, event.position) < 0)
    throw new RestoreRangeError(
      'toPosition',
      `toPosition ${formatPosition(options.toPosition)} is before the backup's first event (${formatPosition(event.position)})`,
    );
  if (options.toTime && options.toTime.getTime() < event.recordedAt.getTime())
    throw new RestoreRangeError(
      'toTime',
      `toTime ${options.toTime.toISOString()} is before the backup's first event (recorded ${event.recordedAt.toISOString()})`,
    );
}

// Column arrays, one statement: unnest() turns them back into rows. jsonb travels as text and is cast once.
const INSERT_ROWS = `INSERT INTO es_events (transaction_id, global_position, stream_id, stream_revision, event_id, event_type, data, metadata, recorded_at)
  SELECT t.commit::xid8, t.prepare, t.stream_id, t.revision, t.event_id, t.event_type, t.data::jsonb, t.metadata::jsonb, to_timestamp(t.recorded_ms / 1000.0)
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::float8[])
      AS t(commit, prepare, stream_id, revision, event_id, event_type, data, metadata, recorded_ms)`;

async function insertRows(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
  const n = events.length;
  const columns = Array.from({ length: 9 }, () => new Array<string | number>(n));
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    columns[0]![i] = e.position.commit.toString();
    columns[1]![i] = e.position.prepare.toString();
    columns[2]![i] = e.streamId;
    columns[3]![i] = e.revision.toString();
    columns[4]![i] = e.id;
    columns[5]![i] = e.type;
    columns[6]![i] = JSON.stringify(e.data);
    columns[7]![i] = JSON.stringify(e.metadata);
    columns[8]![i] = e.recordedAt.getTime();
  }
  await tx.query(INSERT_ROWS, columns);
}

/** The port over one database: `description` names it for people (no password); `files` for a data directory. */
export function sqlRestoreTarget(db: SqlDatabase, description: string, files?: RestoreFilesTarget): RestoreTarget {
  return {
    description,
    restore: (batches, options) => bulkRestore(db, batches, options),
    assertEmpty: () => assertEmptyStore(db),
    ...(files ? { files } : {}),
    close: () => db.close(),
  };
}
