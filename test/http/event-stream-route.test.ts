// The one SSE route's loop and its aggregate source, without HTTP: what a connection writes, in pages,
// how it ends (the source's end, the lifetime bound, the client leaving), and the tenancy of the source.
import Fastify from 'fastify';
import fc from 'fast-check';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RuleViolation } from '../../src/domain/rule-violation.js';
import { StreamNotFoundError, type EventStore, type ReadStreamOptions, type RecordedEvent } from '../../src/ports/event-store.js';
import {
  aggregateEventSource,
  eventStreamRoute,
  pumpServerSentEvents,
  type ReadAfter,
  type StreamBounds,
  type StreamMessage,
} from '../../src/http/event-stream-route.js';

const BOUNDS: StreamBounds = { pollMs: 1, heartbeatMs: 60_000, pageSize: 3, maxLifetimeMs: 60_000 };

/** A source over a fixed list of messages (ids are their indexes), ending after the last when `ends`. */
function listSource(count: number, ends: boolean, limits: number[] = []): ReadAfter {
  const all: StreamMessage[] = Array.from({ length: count }, (_, i) => ({ id: String(i), event: 'Tick', data: { i } }));
  return async (cursor, limit) => {
    limits.push(limit);
    const start = cursor === undefined ? 0 : Number(cursor) + 1;
    const messages = all.slice(start, start + limit);
    return { messages, ended: ends && start + messages.length === count };
  };
}

/** A sink that takes everything at once (a fast client). */
function collector() {
  const chunks: string[] = [];
  return {
    chunks,
    write: (chunk: string) => chunks.push(chunk) > 0,
    once: () => undefined,
    ids: () => chunks.flatMap((c) => /^id: (\S+)/.exec(c)?.[1] ?? []),
  };
}

describe('pumpServerSentEvents', () => {
  it('writes every message once, in order, reading at most a page at a time, resuming after the cursor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: -1, max: 20 }), async (count, resumeAt) => {
        const out = collector();
        const limits: number[] = [];
        const cursor = resumeAt < 0 ? undefined : String(Math.min(resumeAt, count - 1));
        const end = await pumpServerSentEvents(out, listSource(count, true, limits), cursor, BOUNDS, new AbortController().signal);
        const from = cursor === undefined ? 0 : Number(cursor) + 1;
        if (from < count || count === 0) expect(end).toBe('ended');
        expect(out.ids()).toEqual(Array.from({ length: Math.max(0, count - from) }, (_, i) => String(from + i)));
        expect(limits.every((limit) => limit === BOUNDS.pageSize)).toBe(true);
        expect(out.chunks.join('')).not.toContain('heartbeat');
      }),
      { numRuns: 50 },
    );
  });

  it('reads the next page only once a slow client has taken the last one', async () => {
    const out = collector();
    let drain: (() => void) | undefined;
    const slow = {
      ...out,
      write: (chunk: string) => (out.write(chunk), false),
      once: (_: 'drain', listener: () => void) => (drain = listener),
    };
    const limits: number[] = [];
    const pumping = pumpServerSentEvents(slow, listSource(7, true, limits), undefined, BOUNDS, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(limits).toHaveLength(1);
    expect(out.ids()).toEqual(['0', '1', '2']);
    for (let page = 2; page <= 3; page++) {
      drain!();
      await new Promise((resolve) => setImmediate(resolve));
      expect(limits).toHaveLength(page);
    }
    drain!();
    expect(await pumping).toBe('ended');
    expect(out.ids()).toEqual(['0', '1', '2', '3', '4', '5', '6']);
  });

  it('frames a message as id, event and JSON data', async () => {
    const out = collector();
    await pumpServerSentEvents(out, listSource(1, true), undefined, BOUNDS, new AbortController().signal);
    expect(out.chunks).toEqual(['id: 0\nevent: Tick\ndata: {"i":0}\n\n']);
  });

  it('ends a stream that never ends by itself once its lifetime bound has passed', async () => {
    const out = collector();
    const end = await pumpServerSentEvents(
      out,
      listSource(2, false),
      undefined,
      { ...BOUNDS, maxLifetimeMs: 20 },
      new AbortController().signal,
    );
    expect(end).toBe('lifetime');
    expect(out.ids()).toEqual(['0', '1']);
  });

  it('stops waiting for the next poll as soon as the client leaves', async () => {
    const left = new AbortController();
    let reads = 0;
    const source: ReadAfter = async () => {
      reads++;
      setImmediate(() => left.abort()); // while the loop waits an hour for its next poll
      return { messages: [], ended: false };
    };
    const end = await pumpServerSentEvents(collector(), source, undefined, { ...BOUNDS, pollMs: 3_600_000 }, left.signal);
    expect(end).toBe('closed');
    expect(reads).toBe(1);
  });

  it('sends a heartbeat comment while nothing happens', async () => {
    const out = collector();
    const left = new AbortController();
    let reads = 0;
    const source: ReadAfter = async () => {
      if (++reads === 5) left.abort();
      return { messages: [], ended: false };
    };
    await pumpServerSentEvents(out, source, undefined, { ...BOUNDS, heartbeatMs: 0, pollMs: 2 }, left.signal);
    expect(out.chunks).toContain(': heartbeat\n\n');
  });
});

const TENANT = 'acme';
const STREAM = 'deployment-1';

function storeOf(types: string[], tenantId = TENANT): Pick<EventStore, 'readStream'> {
  const events: RecordedEvent[] = types.map((type, i) => ({
    id: `e${i}`,
    type,
    streamId: STREAM,
    revision: BigInt(i),
    position: { commit: BigInt(i), prepare: BigInt(i) },
    data: { n: i },
    metadata: { tenantId, occurredAt: '2026-01-01T00:00:00.000Z' },
    recordedAt: new Date(0),
  }));
  return {
    readStream: async (streamId: string, options: ReadStreamOptions = {}) => {
      if (streamId !== STREAM || events.length === 0) throw new StreamNotFoundError(streamId);
      const from = Number(options.fromRevision ?? 0n);
      return events.slice(from, from + (options.maxCount ?? events.length));
    },
  };
}

const sourceOf = (store: Pick<EventStore, 'readStream'>, tenantId = TENANT) =>
  aggregateEventSource(store as EventStore, {
    tenantId,
    streamId: STREAM,
    category: 'deployment',
    endEvents: new Set(['RolloutFailed']),
  });

describe('aggregateEventSource', () => {
  it("is the aggregate's 404 for another tenant's stream and for a missing one alike", async () => {
    const other = await sourceOf(storeOf(['Requested']), 'globex').catch((error: unknown) => error);
    const missing = await sourceOf(storeOf([])).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(RuleViolation);
    expect(other).toEqual(missing);
  });

  it('does not end on an end event that fills a page: more may follow it (a rollback after a failed rollout)', async () => {
    const read = await sourceOf(storeOf(['Requested', 'RolloutFailed', 'RollbackStarted', 'RolloutSucceeded']));
    const first = await read(undefined, 2);
    expect(first).toMatchObject({ ended: false, messages: [{ id: '0' }, { id: '1', event: 'RolloutFailed' }] });
    expect((await read('1', 2)).ended).toBe(false);
  });

  it('ends after the end event, also when the page that carried it was full', async () => {
    const read = await sourceOf(storeOf(['Requested', 'RolloutFailed']));
    expect((await read(undefined, 2)).ended).toBe(false);
    expect(await read('1', 2)).toEqual({ messages: [], ended: true });
    const short = await sourceOf(storeOf(['Requested', 'RolloutFailed']));
    const page = await short(undefined, 10);
    expect(page.ended).toBe(true);
    expect(page.messages[1]).toEqual({
      id: '1',
      event: 'RolloutFailed',
      data: { type: 'RolloutFailed', revision: 1, occurredAt: '2026-01-01T00:00:00.000Z', data: { n: 1 } },
    });
  });
});

describe('eventStreamRoute with a source that is not an event stream (the shape of a log stream)', () => {
  it('passes the query and the caller to the source, resumes after Last-Event-ID and ends with the source', async () => {
    const lines = ['a', 'b', 'c', 'd', 'e'].map((text, i) => ({ id: `cursor-${i}`, event: 'log', data: { text } }));
    const asked: unknown[] = [];
    const route = eventStreamRoute({
      name: 'lines',
      path: '/v1/lines/stream',
      permission: 'audit:read',
      tag: 'lines',
      summary: 'lines',
      description: 'text/event-stream of lines',
      querystring: z.strictObject({ level: z.enum(['info', 'error']) }),
      lastEventId: z.string().regex(/^cursor-\d+$/, 'a cursor'),
      source: async (_deps: object, _params, principal, query) => {
        asked.push({ tenantId: principal.tenantId, level: query.level });
        return async (cursor, limit) => {
          const from = cursor === undefined ? 0 : Number(cursor.slice('cursor-'.length)) + 1;
          const messages = lines.slice(from, from + limit);
          return { messages, ended: from + messages.length === lines.length };
        };
      },
    });
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.addHook('onRequest', async (request) => {
      request.principal = { tenantId: 'acme', userId: 'alice', permissions: new Set(['audit:read']), via: 'api_key' };
    });
    await app.register(route, { streamBounds: { pageSize: 2, pollMs: 1 } });
    try {
      const answer = await app.inject({ url: '/v1/lines/stream?level=error', headers: { 'last-event-id': 'cursor-1' } });
      expect(answer.headers['content-type']).toContain('text/event-stream');
      expect([...answer.body.matchAll(/^id: (\S+)$/gm)].map((m) => m[1])).toEqual(['cursor-2', 'cursor-3', 'cursor-4']);
      expect(asked).toEqual([{ tenantId: 'acme', level: 'error' }]);
      expect((await app.inject({ url: '/v1/lines/stream?level=loud' })).statusCode).toBe(400);
      expect((await app.inject({ url: '/v1/lines/stream?level=info', headers: { 'last-event-id': '7' } })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});
