import { EventEmitter } from 'node:events';
import { existingStreamsInTable } from './existing-streams.js';
import {
  IdempotencyConflictError,
  START,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  comparePositions,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type RecordedEvent,
} from '../../ports/event-store.js';
import type { JsonObject } from '../../domain/json.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import type { ChangeFeed } from '../../ports/change-feed.js';
import { assertAppendable } from './append-validation.js';
import { EVENT_STORE_SCHEMA } from './postgres-schema.js';
import { pollingSubscription } from './polling-subscription.js';
import { filterClause } from './postgres-all-filter.js';
import { assertNoUnfinishedRestore } from './restore-marker.js';

interface EventRow {
  kind: 'event' | 'head';
  commit_position: string;
  prepare_position: string;
  event_id: string | null;
  event_type: string | null;
  stream_id: string | null;
  stream_revision: string | null;
  data: JsonObject | null;
  metadata: JsonObject | null;
  /** Milliseconds since the epoch: a number decodes far faster than a timestamptz string. */
  recorded_at: number | null;
}

interface StreamRow extends EventRow {
  deleted: boolean;
  last_revision: string;
}

interface AppendRow {
  last_revision: string;
  commit_position: string;
  prepare_position: string;
  idempotent: boolean;
}

/**
 * Optional on a SqlDatabase: runs a statement that the server parses and plans once per connection under
 * `name` (pg's named queries). For the event store's short statements planning costs more than executing
 * (measured: an es_append call drops from ~270 to ~180 µs of server CPU), so every statement here goes
 * through it when the database offers it; elsewhere (PGlite) they run as plain queries.
 */
export interface PreparedQueries {
  queryPrepared?<R>(name: string, text: string, params: readonly unknown[]): Promise<R[]>;
}

interface Statement {
  readonly name: string;
  readonly text: string;
}

// One name per distinct text for the whole process: pg refuses a name reused with another text on the
// same connection, and every event store in the process may share the pool's connections.
const statements = new Map<string, Statement>();
function statement(text: string): Statement {
  let found = statements.get(text);
  if (!found) {
    found = { name: `kyo_es_${statements.size + 1}`, text };
    statements.set(text, found);
  }
  return found;
}

const EVENT_COLUMNS = `e.transaction_id::text AS commit_position, e.global_position::text AS prepare_position,
  e.event_id::text AS event_id, e.event_type, e.stream_id, e.stream_revision::text AS stream_revision,
  e.data, e.metadata, (extract(epoch FROM e.recorded_at) * 1000)::float8 AS recorded_at`;

const APPEND_MANY = statement(
  'SELECT ord, last_revision::text, commit_position, prepare_position::text, idempotent, error_code, error_detail FROM es_append_many($1::json)',
);

const APPEND = statement(
  'SELECT last_revision::text, commit_position, prepare_position::text, idempotent FROM es_append($1, $2, $3::bigint, $4::jsonb)',
);

// Revisions below truncate_before belong to the stream's life before a soft delete and stay hidden.
const readStreamStatement = (range: string, order: 'ASC' | 'DESC') =>
  statement(`SELECT s.deleted, s.last_revision::text AS last_revision, e.* FROM es_streams s
    LEFT JOIN LATERAL (
      SELECT 'event' AS kind, ${EVENT_COLUMNS} FROM es_events e
       WHERE e.stream_id = s.stream_id AND ${range}
       ORDER BY e.stream_revision ${order} LIMIT $3) e ON true
    WHERE s.stream_id = $1`);
const READ_STREAM_FORWARDS = readStreamStatement('e.stream_revision >= GREATEST(s.truncate_before, COALESCE($2::bigint, 0))', 'ASC');
const READ_STREAM_BACKWARDS = readStreamStatement(
  'e.stream_revision >= s.truncate_before AND e.stream_revision <= COALESCE($2::bigint, s.last_revision)',
  'DESC',
);

// One statement, one snapshot: the page and the head it is measured against are consistent, so a
// filtered reader can safely jump to the head when the page runs out. The horizon is compared as a
// scalar subquery, not joined, so that it bounds the index scans: while some transaction holds the
// horizon back, the events above it are never walked (a join filter walked them all on every poll).
const readAllStatement = (range: string, clause: string, order: string) =>
  statement(`WITH horizon AS MATERIALIZED (SELECT es_horizon() AS xmin),
     page AS (
       SELECT 'event' AS kind, ${EVENT_COLUMNS} FROM es_events e
        WHERE ${range} AND e.transaction_id < (SELECT xmin FROM horizon) ${clause}
        ORDER BY ${order} LIMIT $3),
     head AS (
       SELECT 'head' AS kind, e.transaction_id::text AS commit_position, e.global_position::text AS prepare_position,
              NULL::text AS event_id, NULL::text AS event_type, NULL::text AS stream_id, NULL::text AS stream_revision,
              NULL::jsonb AS data, NULL::jsonb AS metadata, NULL::float8 AS recorded_at
         FROM es_events e WHERE e.transaction_id < (SELECT xmin FROM horizon)
        ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1)
     SELECT * FROM page UNION ALL SELECT * FROM head`);

const HEAD_POSITION =
  statement(`SELECT e.transaction_id::text AS commit_position, e.global_position::text AS prepare_position FROM es_events e
  WHERE e.transaction_id < es_horizon()
  ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1`);

export interface PostgresEventStoreOptions {
  /** How often a caught-up subscription looks for events appended by other processes (no change feed, or it is down). */
  readonly pollIntervalMs?: number;
  /**
   * Other processes' appends announced over LISTEN/NOTIFY (PostgreSQL): this store announces its own after
   * commit, and its subscriptions wake on theirs and only poll every `listeningPollMs` while the feed is up.
   */
  readonly changeFeed?: ChangeFeed;
  readonly listeningPollMs?: number;
  /**
   * Group commit: at most this many append calls run at once; appends that arrive meanwhile wait and go
   * together in one transaction (es_append_many) when a call finishes. Default 2 on PostgreSQL (best
   * measured on a 2-core machine: more parallel calls only add commits; raise it for a bigger server),
   * 1 on PGlite (which runs one statement at a time anyway). An append never waits when a slot is free.
   */
  readonly maxAppendsInFlight?: number;
  /** Where a subscription's failed read is logged (it retries) when the subscriber passes no onReadError. */
  readonly logger?: { warn(obj: object, msg?: string): void };
}

/** Appends per group: few enough to stay far below PostgreSQL's 64 cached subtransactions. */
const MAX_GROUP = 32;

interface PendingAppend {
  readonly streamId: string;
  readonly mode: string;
  readonly expected: string | null;
  readonly events: readonly EventToAppend[];
  resolve(row: AppendRow): void;
  reject(error: unknown): void;
}

/** An error carrying the SQLSTATE and detail that es_append_many reported for one append. */
function reportedError(code: string, detail: string | null): Error {
  return Object.assign(new Error(`append refused (${code})`), { code, detail: detail ?? undefined });
}

/** Creates the tables (idempotent; concurrent starts are serialized by an advisory lock). Refuses a store
 * that a bulk restore has marked as unfinished (restore-marker.ts): nothing half-restored is served. */
export async function migrateEventStore(db: SqlDatabase): Promise<void> {
  await assertNoUnfinishedRestore(db);
  await applyEventStoreSchema(db);
}

/** The schema alone, without the restore check: what a bulk restore runs on its own target. */
export async function applyEventStoreSchema(db: SqlDatabase): Promise<void> {
  if (db.dialect === 'pglite') return db.exec(`${EVENT_STORE_SCHEMA}; SELECT es_realign_positions();`);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7294018311)');
    await tx.query(EVENT_STORE_SCHEMA);
    // After a restore into another cluster: new positions must sort after the restored ones.
    await tx.query('SELECT es_realign_positions()');
  });
}

/** The event store on PostgreSQL or PGlite: same SQL, same behaviour. */
export function createPostgresEventStore(db: SqlDatabase, options: PostgresEventStoreOptions = {}): EventStore {
  // Wakes this process's subscriptions right after a local append, and on another process's word (the
  // change feed; its NOTIFY is sent after the append's commit, coalesced, never inside the append).
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const feed = options.changeFeed;
  const unlisten = feed?.onChange('events', () => appended.emit('appended'));
  const fastPollMs = options.pollIntervalMs ?? 100;
  const listeningPollMs = options.listeningPollMs ?? 30_000;
  const pollIntervalMs = feed ? () => (feed.listening() ? listeningPollMs : fastPollMs) : fastPollMs;
  const prepared = (db as SqlDatabase & PreparedQueries).queryPrepared?.bind(db);
  const run = <R>(stmt: Statement, params: readonly unknown[]): Promise<R[]> =>
    prepared ? prepared<R>(stmt.name, stmt.text, params) : db.query<R>(stmt.text, params);

  const eventsJson = (events: readonly EventToAppend[]) =>
    events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
  const appendOne = async (streamId: string, mode: string, expected: string | null, events: readonly EventToAppend[]) =>
    (await run<AppendRow>(APPEND, [streamId, mode, expected, JSON.stringify(eventsJson(events))]))[0]!;

  // Group commit. Under load, appends queue behind the calls in flight and then share one transaction:
  // one round trip and one WAL flush for many appends, each still checked and refused on its own.
  const maxInFlight = Math.max(1, options.maxAppendsInFlight ?? (db.dialect === 'pglite' ? 1 : 2));
  let inFlight = 0;
  const waiting: PendingAppend[] = [];

  async function appendGroup(group: PendingAppend[]): Promise<void> {
    // By stream, keeping arrival order within a stream: two groups then lock streams in the same order.
    const ordered = group
      .map((pending, arrival) => ({ pending, arrival }))
      .sort((a, b) => (a.pending.streamId < b.pending.streamId ? -1 : a.pending.streamId > b.pending.streamId ? 1 : a.arrival - b.arrival));
    const payload = JSON.stringify(
      ordered.map(({ pending }) => ({ s: pending.streamId, m: pending.mode, e: pending.expected, v: eventsJson(pending.events) })),
    );
    const rows = await run<AppendRow & { ord: number; error_code: string | null; error_detail: string | null }>(APPEND_MANY, [payload]);
    for (const row of rows) {
      const { pending } = ordered[row.ord]!;
      if (row.error_code) pending.reject(reportedError(row.error_code, row.error_detail));
      else pending.resolve(row);
    }
  }

  function drain(): void {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const group = waiting.splice(0, MAX_GROUP);
      inFlight++;
      const done =
        group.length === 1
          ? appendOne(group[0]!.streamId, group[0]!.mode, group[0]!.expected, group[0]!.events).then(group[0]!.resolve)
          : appendGroup(group);
      done
        .catch((error: unknown) => {
          for (const pending of group) pending.reject(error);
        })
        .finally(() => {
          inFlight--;
          drain();
        });
    }
  }

  function submit(streamId: string, mode: string, expected: string | null, events: readonly EventToAppend[]): Promise<AppendRow> {
    return new Promise<AppendRow>((resolve, reject) => {
      waiting.push({ streamId, mode, expected, events, resolve, reject });
      drain();
    });
  }

  async function append(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    assertAppendable(streamId, events);
    const [mode, expected] = typeof expectedRevision === 'bigint' ? ['exact', expectedRevision.toString()] : [expectedRevision, null];
    let row: AppendRow;
    try {
      row = await submit(streamId, mode, expected, events);
    } catch (error) {
      const code = sqlState(error);
      if (code === '23505' || code === '40P01') {
        // 23505: either two appends of the same new events raced past the idempotency check on a stream
        // that did not exist yet, or the fast path met a repeated event id. The checked path, once the
        // winner has committed, returns the original result or says which rule the append broke.
        // 40P01: a deadlock between groups despite the ordering (index locks); this append alone again.
        row = await appendOne(streamId, mode === 'exact' ? 'exact_checked' : mode, expected, events).catch((retryError: unknown) =>
          rethrow(retryError, streamId, expectedRevision),
        );
      } else {
        rethrow(error, streamId, expectedRevision);
      }
    }
    const position = { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
    if (!row.idempotent) {
      appended.emit('appended', position);
      feed?.announce('events', '');
    }
    return { nextExpectedRevision: BigInt(row.last_revision), position, idempotent: row.idempotent };
  }

  async function readStream(streamId: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    // The stream row and its events in one statement: one round trip, one snapshot.
    const rows = await run<StreamRow>(opts.direction === 'backwards' ? READ_STREAM_BACKWARDS : READ_STREAM_FORWARDS, [
      streamId,
      opts.fromRevision?.toString() ?? null,
      opts.maxCount ?? null,
    ]);
    const [first] = rows;
    if (!first || first.deleted || BigInt(first.last_revision) < 0n) throw new StreamNotFoundError(streamId);
    return rows.filter((row) => row.event_id !== null).map(toRecordedEvent);
  }

  async function readAll(opts: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = opts.after ?? START;
    const maxCount = opts.maxCount ?? 1000;
    const { clause, params, singleCategory } = filterClause(opts.filter, 4);
    // One category: walk its index in global order. Otherwise walk the log's primary key in order.
    const range = singleCategory
      ? '(e.category, e.transaction_id, e.global_position) > ($4::text, $1::xid8, $2::bigint)'
      : '(e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)';
    const order = singleCategory ? 'e.category, e.transaction_id, e.global_position' : 'e.transaction_id, e.global_position';
    const rows = await run<EventRow>(readAllStatement(range, clause, order), [
      after.commit.toString(),
      after.prepare.toString(),
      maxCount,
      ...params,
    ]);
    const events = rows.filter((r) => r.kind === 'event').map(toRecordedEvent);
    const headRow = rows.find((r) => r.kind === 'head');
    const head = headRow ? positionOf(headRow) : START;
    const isEnd = events.length < maxCount;
    const lastEvent = events.at(-1)?.position ?? after;
    const lastPosition = isEnd && comparePositions(head, lastEvent) > 0 ? head : lastEvent;
    return { events, lastPosition, isEnd };
  }

  async function headPosition(): Promise<Position> {
    const [row] = await run<{ commit_position: string; prepare_position: string }>(HEAD_POSITION, []);
    return row ? positionOf(row) : START;
  }

  async function deleteStream(streamId: string, { expectedRevision }: { expectedRevision: ExpectedRevision }): Promise<void> {
    await db.transaction(async (tx) => {
      const [stream] = await tx.query<{ last_revision: string; deleted: boolean }>(
        'SELECT last_revision::text, deleted FROM es_streams WHERE stream_id = $1 FOR UPDATE',
        [streamId],
      );
      const current = stream && !stream.deleted && BigInt(stream.last_revision) >= 0n ? BigInt(stream.last_revision) : undefined;
      if (current === undefined) {
        if (expectedRevision === 'any' || expectedRevision === 'no_stream') throw new StreamNotFoundError(streamId);
        throw new WrongExpectedRevisionError(streamId, expectedRevision, 'no_stream');
      }
      if (expectedRevision === 'no_stream' || (typeof expectedRevision === 'bigint' && expectedRevision !== current)) {
        throw new WrongExpectedRevisionError(streamId, expectedRevision, current);
      }
      await tx.query('UPDATE es_streams SET deleted = true, truncate_before = last_revision + 1 WHERE stream_id = $1', [streamId]);
    });
  }

  return {
    append,
    existingStreams: (streamIds) => existingStreamsInTable(db, streamIds),
    readStream,
    readAll,
    headPosition,
    deleteStream,
    subscribeToAll: (subscribeOptions) =>
      pollingSubscription({ readAll, appended, pollIntervalMs, logger: options.logger }, subscribeOptions),
    async close() {
      unlisten?.();
      appended.removeAllListeners();
    },
  };
}

function positionOf(row: { commit_position: string; prepare_position: string }): Position {
  return { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id!,
    type: row.event_type!,
    streamId: row.stream_id!,
    revision: BigInt(row.stream_revision!),
    position: positionOf(row),
    data: row.data!,
    metadata: row.metadata!,
    recordedAt: new Date(row.recorded_at!),
  };
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function rethrow(error: unknown, streamId: string, expected: ExpectedRevision): never {
  const code = sqlState(error);
  if (code === 'KY001') {
    const detail = String((error as { detail?: unknown }).detail ?? 'no_stream');
    throw new WrongExpectedRevisionError(streamId, expected, detail === 'no_stream' ? 'no_stream' : BigInt(detail));
  }
  if (code === 'KY002')
    throw new IdempotencyConflictError(streamId, (error as { detail?: unknown }).detail === 'deleted' ? 'deleted' : 'partial');
  throw error;
}
