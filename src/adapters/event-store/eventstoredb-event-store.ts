// The event store on EventStoreDB. Expected revisions, $all positions, event-id idempotency and soft
// delete are the server's own; this adapter only translates.
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START as ESDB_START,
  StreamNotFoundError as EsdbStreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  START,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  comparePositions,
  type EventStore,
  type ExpectedRevision,
  type Position,
  type ReadAllResult,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
} from '../../domain/event-store.js';
import { matchesFilter, serverFilterOf, toRecordedEvent, type EsdbRecorded } from './eventstoredb-mapping.js';

const actualOf = (error: WrongExpectedVersionError): bigint | 'no_stream' => (typeof error.actualVersion === 'bigint' ? error.actualVersion : 'no_stream');

function translate(error: unknown, streamId: string, expected: ExpectedRevision): never {
  if (error instanceof WrongExpectedVersionError) throw new WrongExpectedRevisionError(streamId, expected, actualOf(error));
  if (error instanceof EsdbStreamNotFoundError) throw new StreamNotFoundError(streamId);
  throw error;
}

export function createEventStoreDbEventStore(connectionString: string): EventStore {
  const client = EventStoreDBClient.connectionString(connectionString);

  async function readAllRaw(after: Position | undefined, maxCount: number, direction: typeof FORWARDS | typeof BACKWARDS) {
    const from = after && comparePositions(after, START) > 0 ? after : direction === FORWARDS ? ESDB_START : END;
    const events: EsdbRecorded[] = [];
    for await (const resolved of client.readAll({ fromPosition: from, maxCount: maxCount + 1, direction })) {
      const event = (resolved as AllStreamResolvedEvent).event;
      if (event) events.push(event as EsdbRecorded);
    }
    // fromPosition is inclusive on the server; the port's `after` is exclusive.
    return after ? events.filter((e) => e.position && comparePositions(e.position, after) !== 0).slice(0, maxCount) : events.slice(0, maxCount);
  }

  return {
    async append(streamId, events, { expectedRevision }) {
      if (events.length === 0) throw new RangeError('append needs at least one event');
      try {
        const result = await client.appendToStream(
          streamId,
          events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
          { expectedRevision },
        );
        if (!result.position) throw new Error('EventStoreDB returned no position');
        return { nextExpectedRevision: result.nextExpectedRevision, position: { commit: result.position.commit, prepare: result.position.prepare } };
      } catch (error) {
        return translate(error, streamId, expectedRevision);
      }
    },

    async readStream(streamId, options = {}) {
      const backwards = options.direction === 'backwards';
      const events: RecordedEvent[] = [];
      try {
        for await (const resolved of client.readStream(streamId, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: options.fromRevision ?? (backwards ? END : ESDB_START),
          ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
        })) {
          const event = (resolved as ResolvedEvent).event;
          if (event?.position) events.push(toRecordedEvent(event as EsdbRecorded));
        }
      } catch (error) {
        return translate(error, streamId, 'any');
      }
      return events;
    },

    async readAll(options = {}): Promise<ReadAllResult> {
      const maxCount = options.maxCount ?? 1000;
      // The server filters reads of $all only in subscriptions, so a page is scanned and filtered here;
      // lastPosition moves past the scanned range either way.
      const scanned = await readAllRaw(options.after, maxCount, FORWARDS);
      const events = scanned.filter((e) => matchesFilter(options.filter, e.type, e.streamId)).map(toRecordedEvent);
      const last = scanned.at(-1)?.position;
      return { events, lastPosition: last ? { commit: last.commit, prepare: last.prepare } : (options.after ?? START), isEnd: scanned.length < maxCount };
    },

    subscribeToAll(options: SubscribeToAllOptions): Subscription {
      const server = serverFilterOf(options.filter);
      let checkpoint = options.after ?? START;
      let chain = Promise.resolve();
      let failed!: (error: unknown) => void;
      let stopResolve!: () => void;
      const done = new Promise<void>((resolve, reject) => {
        failed = reject;
        stopResolve = resolve;
      });
      const checkpointOptions = {
        checkpointInterval: 1,
        // Filtered-out ranges still move the checkpoint, like the SQL adapter's empty batches.
        checkpointReached: (_subscription: unknown, position: { commit: bigint; prepare: bigint }) => {
          const next = { commit: position.commit, prepare: position.prepare };
          if (comparePositions(next, checkpoint) > 0) {
            checkpoint = next;
            chain = chain.then(() => options.onBatch([], next));
          }
        },
      };
      const filter =
        server.on === 'stream'
          ? streamNameFilter({ regex: server.regex!, ...checkpointOptions })
          : server.on === 'type'
            ? eventTypeFilter({ regex: server.regex!, ...checkpointOptions })
            : excludeSystemEvents(checkpointOptions);
      const subscription = client.subscribeToAll({ fromPosition: options.after && comparePositions(options.after, START) > 0 ? options.after : ESDB_START, filter });
      subscription.on('caughtUp', () => options.onCaughtUp?.());
      (async () => {
        try {
          for await (const resolved of subscription) {
            const event = resolved.event as EsdbRecorded | undefined;
            if (!event?.position || !matchesFilter(options.filter, event.type, event.streamId)) continue;
            const recorded = toRecordedEvent(event);
            checkpoint = recorded.position;
            await chain;
            await options.onBatch([recorded], recorded.position);
          }
          await chain;
          stopResolve();
        } catch (error) {
          failed(error);
        }
      })();
      done.catch(() => undefined);
      return {
        done,
        async stop() {
          await subscription.unsubscribe();
          await done.catch(() => undefined);
        },
      };
    },

    async headPosition() {
      // The newest non-system event: read $all backwards until one appears.
      for await (const resolved of client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 100 })) {
        const event = (resolved as AllStreamResolvedEvent).event;
        if (event && matchesFilter(undefined, event.type, event.streamId) && event.position) return { commit: event.position.commit, prepare: event.position.prepare };
      }
      return START;
    },

    async deleteStream(streamId, { expectedRevision }) {
      try {
        // The server's delete knows no `stream_exists`; deleting a missing stream fails as not found anyway.
        await client.deleteStream(streamId, { expectedRevision: expectedRevision === 'stream_exists' ? 'any' : expectedRevision });
      } catch (error) {
        translate(error, streamId, expectedRevision);
      }
    },

    async close() {
      await client.dispose();
    },
  };
}
