// One specification of the event store port, run against every reachable adapter (PGlite, PostgreSQL,
// EventStoreDB). Stream names are random per test so a shared server needs no cleanup.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdempotencyConflictError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  comparePositions,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type RecordedEvent,
} from '../../../src/domain/event-store.js';

export interface ContractTarget {
  readonly store: EventStore;
  readonly cleanup: () => Promise<void>;
  /** Whether a soft-deleted stream can be appended to again (true on every adapter here). */
  readonly recreatesDeletedStreams: boolean;
}

const event = (type = 'Happened', data: Record<string, string | number> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data: { ...data },
  metadata: { tenantId: 'contract' },
});

export function eventStoreContract(name: string, open: () => Promise<ContractTarget>, options: { propertyRuns?: number } = {}): void {
  describe(`event store contract: ${name}`, () => {
    let target: ContractTarget;
    let store: EventStore;
    const unique = () => randomUUID().replaceAll('-', '').slice(0, 12);
    const stream = (category = 'contract') => `${category}-${unique()}`;

    beforeAll(async () => {
      target = await open();
      store = target.store;
    });
    afterAll(async () => target?.cleanup());

    describe('append', () => {
      it('honours no_stream, stream_exists, an exact revision and any', async () => {
        const id = stream();
        await expect(store.append(id, [event()], { expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect((await store.append(id, [event(), event()], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(1n);
        const wrong = await store.append(id, [event()], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(wrong).toBeInstanceOf(WrongExpectedRevisionError);
        expect((wrong as WrongExpectedRevisionError).actual).toBe(1n);
        const stale = await store.append(id, [event()], { expectedRevision: 0n }).catch((e: unknown) => e);
        expect((stale as WrongExpectedRevisionError).actual).toBe(1n);
        expect((await store.append(id, [event()], { expectedRevision: 1n })).nextExpectedRevision).toBe(2n);
        expect((await store.append(id, [event()], { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(3n);
        expect((await store.append(id, [event()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(4n);
        const missing = await store.append(stream(), [event()], { expectedRevision: 5n }).catch((e: unknown) => e);
        expect((missing as WrongExpectedRevisionError).actual).toBe('no_stream');
      });

      it('returns increasing global positions that match what readAll reports', async () => {
        const id = stream();
        const first = await store.append(id, [event()], { expectedRevision: 'no_stream' });
        const second = await store.append(id, [event(), event()], { expectedRevision: 0n });
        expect(comparePositions(second.position, first.position)).toBeGreaterThan(0);
        const events = await store.readStream(id);
        expect(events.map((e) => e.position)).toContainEqual(second.position);
        expect(events.at(-1)!.position).toEqual(second.position);
      });

      it('is idempotent on event ids: a retried append is a no-op returning the first result', async () => {
        const id = stream();
        const batch = [event('A'), event('B')];
        const first = await store.append(id, batch, { expectedRevision: 'no_stream' });
        const retried = await store.append(id, batch, { expectedRevision: 'no_stream' });
        expect(retried).toEqual(first);
        expect(await store.readStream(id)).toHaveLength(2);
      });

      it('refuses a partial repeat of event ids', async () => {
        const id = stream();
        const [a, b] = [event('A'), event('B')];
        await store.append(id, [a, b], { expectedRevision: 'no_stream' });
        await expect(store.append(id, [b, event('C')], { expectedRevision: 1n })).rejects.toBeInstanceOf(IdempotencyConflictError);
        expect(await store.readStream(id)).toHaveLength(2);
      });
    });

    describe('readStream', () => {
      it('reads forwards and backwards, from a revision, with a max count', async () => {
        const id = stream();
        await store.append(id, Array.from({ length: 10 }, (_, i) => event('N', { i })), { expectedRevision: 'no_stream' });
        const revisions = (events: RecordedEvent[]) => events.map((e) => Number(e.revision));
        expect(revisions(await store.readStream(id))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(revisions(await store.readStream(id, { fromRevision: 7n }))).toEqual([7, 8, 9]);
        expect(revisions(await store.readStream(id, { fromRevision: 2n, maxCount: 3 }))).toEqual([2, 3, 4]);
        expect(revisions(await store.readStream(id, { direction: 'backwards', maxCount: 2 }))).toEqual([9, 8]);
        expect(revisions(await store.readStream(id, { direction: 'backwards', fromRevision: 3n }))).toEqual([3, 2, 1, 0]);
        const [first] = await store.readStream(id, { maxCount: 1 });
        expect(first).toMatchObject({ type: 'N', streamId: id, data: { i: 0 }, metadata: { tenantId: 'contract' } });
        expect(first!.recordedAt).toBeInstanceOf(Date);
      });

      it('throws StreamNotFoundError for a missing stream', async () => {
        await expect(store.readStream(stream())).rejects.toBeInstanceOf(StreamNotFoundError);
      });
    });

    describe('readAll', () => {
      it('pages from a position in global order, filtered by type and by category', async () => {
        const category = `cat${unique()}`;
        const start = await store.headPosition();
        const a = `${category}-a`;
        const b = `${category}-b`;
        await store.append(a, [event('Kept'), event('Dropped')], { expectedRevision: 'no_stream' });
        await store.append(stream(), [event('Kept')], { expectedRevision: 'no_stream' });
        await store.append(b, [event('Kept')], { expectedRevision: 'no_stream' });

        const byCategory = await store.readAll({ after: start, filter: { categories: [category] } });
        expect(byCategory.events.map((e) => `${e.streamId}:${e.type}`)).toEqual([`${a}:Kept`, `${a}:Dropped`, `${b}:Kept`]);
        const both = await store.readAll({ after: start, filter: { categories: [category], eventTypes: ['Kept'] } });
        expect(both.events.map((e) => e.streamId)).toEqual([a, b]);

        const firstPage = await store.readAll({ after: start, maxCount: 2, filter: { categories: [category] } });
        expect(firstPage.events).toHaveLength(2);
        expect(firstPage.isEnd).toBe(false);
        const secondPage = await store.readAll({ after: firstPage.lastPosition, maxCount: 2, filter: { categories: [category] } });
        expect(secondPage.events.map((e) => e.streamId)).toEqual([b]);
        expect(secondPage.isEnd).toBe(true);
        // A filtered reader's checkpoint moves past what it skipped, up to the head.
        expect(comparePositions(secondPage.lastPosition, await store.headPosition())).toBe(0);
        const nothing = await store.readAll({ after: secondPage.lastPosition, filter: { categories: [category] } });
        expect(nothing.events).toEqual([]);
      });

      it('reports the head position of the newest event', async () => {
        const { position } = await store.append(stream(), [event()], { expectedRevision: 'no_stream' });
        expect(comparePositions(await store.headPosition(), position)).toBeGreaterThanOrEqual(0);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a checkpoint, then delivers live events in order', async () => {
        const category = `sub${unique()}`;
        const before = await store.append(`${category}-1`, [event('Old')], { expectedRevision: 'no_stream' });
        const after = await store.append(`${category}-1`, [event('Caught')], { expectedRevision: 0n });
        const seen: RecordedEvent[] = [];
        let caughtUp = false;
        const subscription = store.subscribeToAll({
          after: before.position,
          filter: { categories: [category] },
          onBatch: async (events) => void seen.push(...events),
          onCaughtUp: () => (caughtUp = true),
        });
        try {
          await waitUntil(() => caughtUp && seen.length === 1);
          expect(seen[0]!.position).toEqual(after.position);
          await store.append(`${category}-2`, [event('Live1'), event('Live2')], { expectedRevision: 'no_stream' });
          await waitUntil(() => seen.length === 3);
          expect(seen.map((e) => e.type)).toEqual(['Caught', 'Live1', 'Live2']);
        } finally {
          await subscription.stop();
        }
      });
    });

    describe('soft delete', () => {
      it('reads a deleted stream as not found and checks the expected revision', async () => {
        const id = stream();
        await store.append(id, [event(), event()], { expectedRevision: 'no_stream' });
        await expect(store.deleteStream(id, { expectedRevision: 0n })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await store.deleteStream(id, { expectedRevision: 1n });
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
      });

      it('recreates a deleted stream where the store allows it, continuing the revisions', async () => {
        if (!target.recreatesDeletedStreams) return;
        const id = stream();
        await store.append(id, [event(), event()], { expectedRevision: 'no_stream' });
        await store.deleteStream(id, { expectedRevision: 'any' });
        const recreated = await store.append(id, [event('Again')], { expectedRevision: 'no_stream' });
        expect(recreated.nextExpectedRevision).toBe(2n);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['Again']);
      });
    });

    it('property: concurrent writers keep streams contiguous, lose and duplicate nothing, and a live subscriber sees exactly the committed events in order', async () => {
      type Attempt = { stream: number; expectation: 'no_stream' | 'any' | 'stale' | 'fresh'; size: number };
      const attempt = fc.record({
        stream: fc.nat({ max: 3 }),
        expectation: fc.constantFrom('no_stream' as const, 'any' as const, 'stale' as const, 'fresh' as const),
        size: fc.integer({ min: 1, max: 4 }),
      });
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.array(attempt, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 6 }), async (streamCount, writers) => {
          const category = `prop${unique()}`;
          const streams = Array.from({ length: streamCount }, (_, i) => `${category}-s${i}`);
          const known = new Map<string, bigint>(); // each writer's last seen revision, shared knowledge is racy on purpose
          const accepted = new Map<string, { streamId: string; ids: string[] }>();
          const rejected: string[] = [];
          const delivered: RecordedEvent[] = [];
          const subscription = store.subscribeToAll({
            after: await store.headPosition(),
            filter: { categories: [category] },
            batchSize: 7,
            onBatch: async (events) => void delivered.push(...events),
          });
          try {
            await Promise.all(
              writers.map(async (attempts, writer) => {
                for (const [index, a] of (attempts as Attempt[]).entries()) {
                  const streamId = streams[a.stream % streamCount]!;
                  const events = Array.from({ length: a.size }, () => event('W', { writer, index }));
                  const last = known.get(streamId);
                  const expectedRevision: ExpectedRevision =
                    a.expectation === 'fresh' ? (last ?? 'no_stream') : a.expectation === 'stale' ? (last !== undefined && last > 0n ? last - 1n : 0n) : a.expectation;
                  try {
                    const result = await store.append(streamId, events, { expectedRevision });
                    known.set(streamId, result.nextExpectedRevision);
                    accepted.set(events[0]!.id, { streamId, ids: events.map((e) => e.id) });
                  } catch (error) {
                    if (!(error instanceof WrongExpectedRevisionError)) throw error;
                    if (error.actual !== 'no_stream') known.set(streamId, error.actual);
                    rejected.push(...events.map((e) => e.id));
                  }
                }
              }),
            );
            const acceptedIds = [...accepted.values()].flatMap((a) => a.ids);
            const stored: RecordedEvent[] = [];
            for (const streamId of streams) {
              const events = await store.readStream(streamId).catch((e: unknown) => (e instanceof StreamNotFoundError ? [] : Promise.reject(e)));
              // contiguous from 0
              expect(events.map((e) => Number(e.revision))).toEqual(events.map((_, i) => i));
              stored.push(...events);
            }
            // nothing lost, nothing duplicated, nothing rejected left behind
            expect(stored.map((e) => e.id).sort()).toEqual([...acceptedIds].sort());
            const storedIds = new Set(stored.map((e) => e.id));
            expect(rejected.filter((id) => storedIds.has(id))).toEqual([]);
            // each accepted batch is contiguous in its stream
            for (const { streamId, ids } of accepted.values()) {
              const revisions = stored.filter((e) => ids.includes(e.id)).map((e) => Number(e.revision));
              expect(revisions).toEqual(revisions.map((_, i) => revisions[0]! + i));
              expect(stored.filter((e) => ids.includes(e.id)).every((e) => e.streamId === streamId)).toBe(true);
            }
            // the subscriber got exactly the committed events, in strictly increasing global position
            await waitUntil(() => delivered.length >= acceptedIds.length);
            expect(delivered.map((e) => e.id).sort()).toEqual([...acceptedIds].sort());
            for (let i = 1; i < delivered.length; i++) expect(comparePositions(delivered[i]!.position, delivered[i - 1]!.position)).toBeGreaterThan(0);
          } finally {
            await subscription.stop();
          }
        }),
        { numRuns: options.propertyRuns ?? 20 },
      );
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the subscription');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
