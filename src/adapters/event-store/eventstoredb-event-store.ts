// The event store on EventStoreDB. Expected revisions, $all positions, event-id idempotency and soft
// delete are the server's own; this adapter translates, and fills the few gaps:
// - reads of $all are filtered here (client v6 filters only subscriptions on the server), scanning a
//   bounded window per call so that a sparse filter still makes progress (lastPosition moves on);
// - a refused append is checked against the stream's ids, to tell a retry with another expectation (a
//   no-op) and a partial repeat (IdempotencyConflictError) from a real conflict. An append at the stream's
//   current revision that repeats some ids is written by the server as is: unlike PostgreSQL, EventStoreDB
//   keeps no per-stream unique index of ids;
// - `any` and `stream_exists` are exact, not the server's best effort: the stream is searched for the
//   append's ids first (the whole stream if need be), then the append is pinned to the revision searched,
//   so one landing in between is caught and searched too. That costs a read of the stream per such append;
// - a soft-deleted stream's `actual` is `no_stream`, as on PostgreSQL (the server reports its revision).
import { existingStreamsByReading } from './existing-streams.js';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START as ESDB_START,
  StreamNotFoundError as EsdbStreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type Position as EsdbPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
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
  type ReadAllResult,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
} from '../../ports/event-store.js';
import { assertAppendable } from './append-validation.js';
import {
  actualRevisionOf,
  classifyRepeat,
  collectRepeatedIds,
  deleteRetryRevision,
  fromCurrentRevision,
  fromEsdbPosition,
  isAfter,
  isSystemEvent,
  matchesFilter,
  readPositionAfter,
  subscriptionFilterOf,
  toAppendExpectedRevision,
  toRecordedEvent,
  type EsdbRecorded,
} from './eventstoredb-mapping.js';

/** How many raw $all events one filtered readAll scans at most before returning what it found. */
const READ_ALL_SCAN_WINDOW = 4096;
/** Events per page when a stream is searched for an append's ids. */
const ID_SEARCH_PAGE = 1000;
/** Attempts of an `any`/`stream_exists` append pinned to a revision that other writers keep moving. */
const PINNED_ATTEMPTS = 20;

// Markers pushed into the subscription's own stream, so that checkpoints and "caught up" reach the
// consumer in order with the events around them (the client reports both out of band).
const CHECKPOINT = Symbol('checkpoint');
const CAUGHT_UP = Symbol('caughtUp');
type Marker = { readonly [CHECKPOINT]: Position } | { readonly [CAUGHT_UP]: true };
const isMarker = (item: unknown): item is Marker => typeof item === 'object' && item !== null && (CHECKPOINT in item || CAUGHT_UP in item);

export function createEventStoreDbEventStore(connectionString: string): EventStore {
  const client = EventStoreDBClient.connectionString(connectionString);

  async function readStreamRaw(
    streamId: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: bigint | typeof ESDB_START | typeof END; maxCount?: number },
  ) {
    const events: EsdbRecorded[] = [];
    try {
      for await (const resolved of client.readStream(streamId, options)) {
        const event = (resolved as ResolvedEvent).event;
        if (event) events.push(event as EsdbRecorded);
      }
    } catch (error) {
      if (error instanceof EsdbStreamNotFoundError) throw new StreamNotFoundError(streamId);
      throw error;
    }
    return events;
  }

  async function readAllRaw(from: Position | undefined, count: number, direction: typeof FORWARDS | typeof BACKWARDS) {
    const events: EsdbRecorded[] = [];
    const fromPosition = direction === BACKWARDS && !from ? END : readPositionAfter(from);
    for await (const resolved of client.readAll({ fromPosition, maxCount: count, direction })) {
      const event = (resolved as AllStreamResolvedEvent).event;
      if (event?.position) events.push(event as EsdbRecorded);
    }
    return events;
  }

  /** The stream's events that carry the append's ids, and its last readable revision ('no_stream' when
   * nothing reads: never written, or soft-deleted). */
  async function findRepeats(
    streamId: string,
    events: readonly EventToAppend[],
  ): Promise<{ found: Map<string, EsdbRecorded>; last: bigint | 'no_stream' }> {
    const ids = new Set(events.map((e) => e.id.toLowerCase()));
    const found = new Map<string, EsdbRecorded>();
    let last: bigint | 'no_stream' = 'no_stream';
    let from: bigint | typeof END = END;
    for (;;) {
      let page: EsdbRecorded[];
      try {
        page = await readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: from, maxCount: ID_SEARCH_PAGE });
      } catch (error) {
        if (error instanceof StreamNotFoundError) return { found, last };
        throw error;
      }
      if (last === 'no_stream' && page[0]) last = page[0].revision;
      if (collectRepeatedIds(ids, found, page, ID_SEARCH_PAGE) === 'done') return { found, last };
      from = page.at(-1)!.revision - 1n;
    }
  }

  /** A repeat of all ids answers with the original result; of some, IdempotencyConflictError. */
  function answerRepeat(streamId: string, events: readonly EventToAppend[], found: Map<string, EsdbRecorded>): AppendResult | undefined {
    const repeat = classifyRepeat(
      events.map((e) => e.id),
      new Set(found.keys()),
    );
    if (repeat === 'some') throw new IdempotencyConflictError(streamId);
    if (repeat === 'none') return undefined;
    const last = events.map((e) => found.get(e.id.toLowerCase())!).reduce((a, b) => (b.revision > a.revision ? b : a));
    return { nextExpectedRevision: last.revision, position: fromEsdbPosition(last.position!), idempotent: true };
  }

  /** After WrongExpectedVersion: is this append a retry (all ids stored), a partial repeat, or neither? */
  async function judgeRefusedAppend(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    error: WrongExpectedVersionError,
  ): Promise<AppendResult> {
    const serverActual = fromCurrentRevision(error.actualVersion);
    const { found, last } =
      serverActual === 'no_stream'
        ? { found: new Map<string, EsdbRecorded>(), last: 'no_stream' as const }
        : await findRepeats(streamId, events);
    const readable = serverActual === 'no_stream' || last !== 'no_stream';
    // Revisions but nothing readable: the stream is soft-deleted, which `no_stream` accepts (as on
    // PostgreSQL). Appending at the current revision keeps a concurrent writer detectable.
    if (!readable && expected === 'no_stream') {
      return append(streamId, events, { expectedRevision: serverActual }).catch((retryError: unknown) => {
        if (retryError instanceof WrongExpectedRevisionError) throw new WrongExpectedRevisionError(streamId, expected, 'no_stream');
        throw retryError;
      });
    }
    const repeated = answerRepeat(streamId, events, found);
    if (repeated) return repeated;
    throw new WrongExpectedRevisionError(streamId, expected, actualRevisionOf(serverActual, readable));
  }

  /** `any` and `stream_exists`, exactly: search the stream for the ids, then append pinned to the revision
   * searched; another append landing in between makes the server refuse, and the search runs again. */
  async function appendSearchingIds(
    streamId: string,
    events: readonly EventToAppend[],
    expected: 'any' | 'stream_exists',
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      const { found, last } = await findRepeats(streamId, events);
      const repeated = answerRepeat(streamId, events, found);
      if (repeated) return repeated;
      if (last === 'no_stream') {
        if (expected === 'stream_exists') throw new WrongExpectedRevisionError(streamId, expected, 'no_stream');
        // Never written or soft-deleted: the `no_stream` path covers both, and reports a race as a conflict.
        return append(streamId, events, { expectedRevision: 'no_stream' }).catch((error: unknown) => {
          if (error instanceof WrongExpectedRevisionError && attempt < PINNED_ATTEMPTS)
            return appendSearchingIds(streamId, events, expected);
          throw error;
        });
      }
      try {
        return await appendAt(streamId, events, last);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= PINNED_ATTEMPTS) throw error;
      }
    }
  }

  async function appendAt(streamId: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const result = await client.appendToStream(
      streamId,
      events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
      { expectedRevision: toAppendExpectedRevision(expectedRevision) },
    );
    if (result.position)
      return { nextExpectedRevision: result.nextExpectedRevision, position: fromEsdbPosition(result.position), idempotent: false };
    // An idempotent write answers without a position: it is the position of the original last event.
    const [original] = await readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: result.nextExpectedRevision, maxCount: 1 });
    if (!original?.position) throw new Error(`EventStoreDB returned no position for ${streamId}@${result.nextExpectedRevision}`);
    return { nextExpectedRevision: result.nextExpectedRevision, position: fromEsdbPosition(original.position), idempotent: true };
  }

  async function append(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    assertAppendable(streamId, events);
    if (expectedRevision === 'any' || expectedRevision === 'stream_exists') return appendSearchingIds(streamId, events, expectedRevision);
    try {
      return await appendAt(streamId, events, expectedRevision);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return judgeRefusedAppend(streamId, events, expectedRevision, error);
      throw error;
    }
  }

  async function readStream(
    streamId: string,
    options: { direction?: 'forwards' | 'backwards'; fromRevision?: bigint; maxCount?: number } = {},
  ): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const events = await readStreamRaw(streamId, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision: options.fromRevision ?? (backwards ? END : ESDB_START),
      // The server reads maxCount 0 as "no limit"; one event still proves the stream exists.
      ...(options.maxCount !== undefined ? { maxCount: Math.max(1, options.maxCount) } : {}),
    });
    return events.slice(0, options.maxCount ?? events.length).map(toRecordedEvent);
  }

  async function readAll(
    options: { after?: Position; maxCount?: number; filter?: SubscribeToAllOptions['filter'] } = {},
  ): Promise<ReadAllResult> {
    const maxCount = options.maxCount ?? 1000;
    const found: RecordedEvent[] = [];
    let last = options.after;
    let scanned = 0;
    for (;;) {
      const page = Math.min(1000, Math.max(maxCount, 100));
      // +1: reading from `last` returns the event at `last` again, which is dropped.
      const raw = (await readAllRaw(last, page + 1, FORWARDS)).filter((e) => isAfter(e.position!, last));
      for (const event of raw) {
        last = fromEsdbPosition(event.position!);
        if (matchesFilter(options.filter, event.type, event.streamId)) found.push(toRecordedEvent(event));
        if (found.length === maxCount) return { events: found, lastPosition: last, isEnd: false };
      }
      scanned += raw.length;
      if (raw.length < page) return { events: found, lastPosition: last ?? START, isEnd: true };
      if (scanned >= READ_ALL_SCAN_WINDOW) return { events: found, lastPosition: last!, isEnd: false };
    }
  }

  function subscribeToAll(options: SubscribeToAllOptions): Subscription {
    const batchSize = options.batchSize ?? 500;
    let stopped = false;
    let subscription: AllStreamSubscription | undefined;

    async function run(): Promise<void> {
      let reported = options.after ?? START; // the last checkpoint handed to onBatch
      let scanned = reported; // the last position seen, delivered or filtered out
      let atHead = false; // seen, but reported only once the events before it are delivered
      let caughtUp = false;
      // Servers before 23.10 send no "caught up"; reaching the head seen at the start counts as well.
      const headAtStart = await headPosition();
      if (comparePositions(headAtStart, reported) <= 0) atHead = true;
      if (stopped) return;

      const current = client.subscribeToAll({
        // Exclusive: the server starts after the event at this position.
        fromPosition: readPositionAfter(options.after),
        filter: subscriptionFilterOf(options.filter, {
          checkpointInterval: 1,
          checkpointReached: (sub: AllStreamSubscription, position: EsdbPosition) =>
            void sub.push({ [CHECKPOINT]: fromEsdbPosition(position) }),
        }),
      });
      subscription = current;
      current.on('caughtUp', () => current.push({ [CAUGHT_UP]: true }));

      let pending: RecordedEvent[] = [];
      const deliver = async () => {
        if (pending.length > 0 || comparePositions(scanned, reported) > 0) {
          const batch = pending;
          pending = [];
          reported = scanned;
          await options.onBatch(batch, scanned);
        }
        if (atHead && !caughtUp) {
          caughtUp = true;
          options.onCaughtUp?.();
        }
      };
      if (atHead) await deliver();
      try {
        for await (const item of current as AsyncIterable<AllStreamResolvedEvent | Marker>) {
          if (stopped) break;
          if (isMarker(item)) {
            if (CHECKPOINT in item && comparePositions(item[CHECKPOINT], scanned) > 0) scanned = item[CHECKPOINT];
            if (CAUGHT_UP in item) atHead = true;
          } else {
            const event = item.event as EsdbRecorded | undefined;
            if (event?.position && isAfter(event.position, scanned)) {
              scanned = fromEsdbPosition(event.position);
              if (matchesFilter(options.filter, event.type, event.streamId)) pending.push(toRecordedEvent(event));
            }
          }
          if (comparePositions(scanned, headAtStart) >= 0) atHead = true;
          // Deliver once the client has nothing more buffered, or the batch is full.
          if (pending.length >= batchSize || current.readableLength === 0) await deliver();
        }
        if (!stopped) await deliver();
      } catch (error) {
        if (!stopped) throw error;
      } finally {
        if (!stopped) await current.unsubscribe().catch(() => undefined);
      }
    }

    const done = run();
    done.catch(() => undefined); // observed through `done`
    return {
      done,
      async stop() {
        stopped = true;
        if (subscription) {
          await subscription.unsubscribe().catch(() => undefined);
          subscription.destroy();
        }
        await done.catch(() => undefined);
      },
    };
  }

  async function headPosition(): Promise<Position> {
    // The newest event that is not the server's own: page backwards through $all until one appears.
    let before: Position | undefined;
    for (;;) {
      const page = await readAllRaw(before, 100, BACKWARDS);
      const own = page.find((e) => !isSystemEvent(e.type, e.streamId) && (!before || comparePositions(e.position!, before) < 0));
      if (own) return fromEsdbPosition(own.position!);
      if (page.length < 100) return START;
      before = fromEsdbPosition(page.at(-1)!.position!);
    }
  }

  async function deleteStream(streamId: string, { expectedRevision }: { expectedRevision: ExpectedRevision }): Promise<void> {
    // A soft-deleted stream reads as not found: no revision to delete at, whatever the expectation.
    const [last] = await readStreamRaw(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }).catch((error: unknown) => {
      if (!(error instanceof StreamNotFoundError)) throw error;
      if (expectedRevision === 'any' || expectedRevision === 'no_stream') throw error;
      throw new WrongExpectedRevisionError(streamId, expectedRevision, 'no_stream');
    });
    if (!last) throw new StreamNotFoundError(streamId);
    // The server's delete knows no `stream_exists` (the client sends it as a revision): the stream's
    // current revision stands in for it, and an append landing in between is retried past, not reported.
    let expected: Exclude<ExpectedRevision, 'stream_exists'> = expectedRevision === 'stream_exists' ? last.revision : expectedRevision;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.deleteStream(streamId, { expectedRevision: expected });
        return;
      } catch (error) {
        if (error instanceof EsdbStreamNotFoundError) throw new StreamNotFoundError(streamId);
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        const actual = fromCurrentRevision(error.actualVersion);
        const retryAt = deleteRetryRevision(expectedRevision, actual);
        if (retryAt === undefined || attempt >= PINNED_ATTEMPTS) throw new WrongExpectedRevisionError(streamId, expectedRevision, actual);
        expected = retryAt;
      }
    }
  }

  return {
    append,
    readStream,
    readAll,
    subscribeToAll,
    headPosition,
    existingStreams: (streamIds) => existingStreamsByReading(readStream, streamIds),
    deleteStream,
    async close() {
      await client.dispose();
    },
  };
}
