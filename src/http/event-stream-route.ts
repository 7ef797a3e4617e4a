// The one Server-Sent Events route. A stream route answers with a source: a function that reads the
// messages after a cursor (the SSE id a reconnecting client sends back as Last-Event-ID) and says whether
// the stream has ended. `aggregateEventSource` is the source of one aggregate's stream (tenancy from its
// first event, ids are stream revisions); any other "read after cursor" (logs) fits the same route.
//
// One connection costs at most one page per read (STREAM_PAGE_SIZE) and lives at most
// STREAM_MAX_LIFETIME_MS: then the response ends and the client reconnects with its last id, losing
// nothing, so a forgotten tab cannot hold a poller forever.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JsonValue } from '../domain/json.js';
import { notFoundOf } from '../domain/not-found.js';
import type { Permission, Principal } from '../domain/principal.js';
import type { EventStore, RecordedEvent } from '../ports/event-store.js';
import { principalOf } from './auth.js';
import { eventsAfter, firstEventOf } from './stream-reads.js';

export const STREAM_PAGE_SIZE = 500;
export const STREAM_MAX_LIFETIME_MS = 30 * 60_000;

export interface StreamMessage {
  /** The SSE id: the cursor a reconnect resumes after. */
  readonly id: string;
  readonly event: string;
  readonly data: JsonValue;
}

export interface StreamPage {
  /** At most the asked limit, in order. */
  readonly messages: readonly StreamMessage[];
  /** Nothing more will come: the response ends after these messages. */
  readonly ended: boolean;
}

/** Reads what follows `cursor` (undefined: from the start). */
export type ReadAfter = (cursor: string | undefined, limit: number) => Promise<StreamPage>;

export interface StreamBounds {
  readonly pollMs: number;
  readonly heartbeatMs: number;
  readonly pageSize: number;
  readonly maxLifetimeMs: number;
}

const DEFAULT_BOUNDS: StreamBounds = {
  pollMs: 200,
  heartbeatMs: 15_000,
  pageSize: STREAM_PAGE_SIZE,
  maxLifetimeMs: STREAM_MAX_LIFETIME_MS,
};

export type StreamEnd = 'ended' | 'lifetime' | 'closed';

/** Where frames go: a response. `write` answers false when the client reads slower than we write. */
export interface StreamSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Until the sink has sent what it buffered, or the client left. */
const drained = (out: StreamSink, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    out.once('drain', resolve);
    signal.addEventListener('abort', () => resolve(), { once: true });
  });

/**
 * Writes the source's messages as SSE frames until it ends, the lifetime bound passes or `signal` aborts
 * (the client left). A full page is followed by the next read at once (once a slow client has taken the
 * last one: memory holds about a page per connection); an empty one waits `pollMs`.
 */
export async function pumpServerSentEvents(
  out: StreamSink,
  read: ReadAfter,
  cursor: string | undefined,
  bounds: StreamBounds,
  signal: AbortSignal,
): Promise<StreamEnd> {
  const started = Date.now();
  let lastWrite = started;
  while (!signal.aborted) {
    const page = await read(cursor, bounds.pageSize);
    let flushed = true;
    for (const message of page.messages) {
      flushed = out.write(`id: ${message.id}\nevent: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`);
      cursor = message.id;
    }
    if (!flushed) await drained(out, signal);
    if (page.messages.length > 0) lastWrite = Date.now();
    if (page.ended) return 'ended';
    if (Date.now() - started >= bounds.maxLifetimeMs) return 'lifetime';
    if (page.messages.length >= bounds.pageSize) continue;
    if (Date.now() - lastWrite > bounds.heartbeatMs) {
      out.write(': heartbeat\n\n');
      lastWrite = Date.now();
    }
    await sleep(bounds.pollMs, undefined, { signal }).catch(() => undefined);
  }
  return 'closed';
}

export interface EventStreamRouteOptions<Deps, Params extends z.ZodObject, Query extends z.ZodObject> {
  /** Fastify's path syntax, e.g. `/v1/batches/:batchId/events`. */
  readonly path: string;
  readonly permission: Permission;
  readonly tag: string;
  readonly summary: string;
  /** The OpenAPI description of the 200 answer (which events, when it ends). */
  readonly description: string;
  /** The path's parameters and the query (filters of a stream that is not one aggregate's, such as logs). */
  readonly params?: Params;
  readonly querystring?: Query;
  /** What a Last-Event-ID may be (default: a stream revision). */
  readonly lastEventId?: z.ZodString;
  /** The source for this caller, or a thrown 404 (another tenant's resource is as missing as none). */
  source(deps: Deps, params: z.infer<Params>, principal: Principal, query: z.infer<Query>): Promise<ReadAfter>;
  /** Names the stream in the log line of a failed read. */
  readonly name: string;
}

const REVISION_ID = z.string().regex(/^\d{1,15}$/, 'a revision sent as an SSE id');

/** A Fastify plugin serving one SSE route; `deps.streamBounds` overrides the bounds (tests). */
export function eventStreamRoute<Deps extends object, Params extends z.ZodObject, Query extends z.ZodObject = z.ZodObject>(
  options: EventStreamRouteOptions<Deps, Params, Query>,
) {
  return async (app: FastifyInstance, deps: Deps & { streamBounds?: Partial<StreamBounds> }): Promise<void> => {
    const bounds = { ...DEFAULT_BOUNDS, ...deps.streamBounds };
    app.withTypeProvider<ZodTypeProvider>().get(
      options.path,
      {
        config: { permission: options.permission },
        schema: {
          tags: [options.tag],
          summary: options.summary,
          ...(options.params ? { params: options.params } : {}),
          ...(options.querystring ? { querystring: options.querystring } : {}),
          headers: z.object({ 'last-event-id': (options.lastEventId ?? REVISION_ID).optional() }),
          response: { 200: z.string().describe(options.description) },
        },
      },
      async (request, reply) => {
        const read = await options.source(deps, request.params as z.infer<Params>, principalOf(request), request.query as z.infer<Query>);
        const cursor = (request.headers as { 'last-event-id'?: string })['last-event-id'];
        const raw = openEventStream(reply);
        // The client went away (or the response ended): stop at once, even mid-wait for the next poll.
        const left = new AbortController();
        raw.on('close', () => left.abort());
        try {
          await pumpServerSentEvents(raw, read, cursor, bounds, left.signal);
        } catch (error) {
          request.log.warn({ err: error }, `${options.name} event stream failed`);
        } finally {
          raw.end();
        }
      },
    );
  };
}

export interface AggregateStreamOptions {
  readonly tenantId: string;
  readonly streamId: string;
  /** The not-found category of the aggregate (`notFoundOf`). */
  readonly category: string;
  /** Types after which, as the newest event, nothing more is expected. */
  readonly endEvents: ReadonlySet<string>;
  /** The event's `data` as the client sees it (default: all of it). */
  readonly show?: (event: RecordedEvent) => JsonValue;
}

/**
 * One aggregate's stream as a source, read from the stream itself (not a read model, so nothing lags
 * behind what the aggregate decided). Throws the aggregate's 404 unless the stream's first event belongs
 * to the caller's tenant. Ends when the newest event read is an end event: a full page may have more
 * behind it (a rollback after a failed rollout), so only a short page (or an empty one after the end
 * event) ends the stream.
 */
export async function aggregateEventSource(eventStore: EventStore, options: AggregateStreamOptions): Promise<ReadAfter> {
  const first = await firstEventOf(eventStore, options.streamId);
  if (!first || first.metadata.tenantId !== options.tenantId) throw notFoundOf(options.category);
  const show = options.show ?? ((event: RecordedEvent) => event.data);
  let newestType: string | undefined; // of this connection's reads: a full page may end on the end event
  return async (cursor, limit) => {
    const events = await eventsAfter(eventStore, options.streamId, cursor === undefined ? -1n : BigInt(cursor), limit);
    const messages = events.map((event) => ({
      id: String(event.revision),
      event: event.type,
      data: { type: event.type, revision: Number(event.revision), occurredAt: String(event.metadata.occurredAt ?? ''), data: show(event) },
    }));
    newestType = events.at(-1)?.type ?? newestType;
    return { messages, ended: events.length < limit && newestType !== undefined && options.endEvents.has(newestType) };
  };
}

/** Takes the response over from Fastify and starts a Server-Sent Events stream on it (every SSE route's head). */
export function openEventStream(reply: FastifyReply): FastifyReply['raw'] {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return reply.raw;
}
