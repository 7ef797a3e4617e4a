// One specification of the event store port, run against every reachable adapter (PGlite, PostgreSQL,
// EventStoreDB). Stream names and categories are random per test, so a shared server needs no cleanup and
// other writers on it do not disturb the assertions.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdempotencyConflictError,
  START,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  comparePositions,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type Position,
  type RecordedEvent,
} from '../../../src/ports/event-store.js';
import { eventStoreRulesContract } from './event-store-rules.contract.js';

/** Where stores legitimately differ; each store's test file says which applies and why. */
export interface StoreBehaviour {
  /** Whether an append at the stream's current revision that repeats some earlier ids is refused
   * (PostgreSQL: a unique index) or written (EventStoreDB keeps no such index). Default true. */
  readonly refusesRepeatedIdsAtCurrentRevision?: boolean;
}

export interface ContractTarget {
  readonly store: EventStore;
  readonly cleanup: () => Promise<void>;
  readonly behaviour?: StoreBehaviour;
}

const event = (type = 'Happened', data: Record<string, string | number> = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data: { ...data },
  metadata: { tenantId: 'contract' },
});

const unique = () => randomUUID().replaceAll('-', '').slice(0, 12);

export function eventStoreContract(name: string, open: () => Promise<ContractTarget>, options: { propertyRuns?: number } = {}): void {
  describe(`event store contract: ${name}`, () => {
    let target: ContractTarget;
    let store: EventStore;
    const stream = (category = 'contract') => `${category}-${unique()}`;
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );

    beforeAll(async () => {
      target = await open();
      store = target.store;
    });
    afterAll(async () => target?.cleanup());
    eventStoreRulesContract(() => store);

    describe('append', () => {
      it('honours no_stream, stream_exists, an exact revision and any, with typed errors carrying the actual revision', async () => {
        const id = stream();
        const missing = await failure(store.append(id, [event()], { expectedRevision: 'stream_exists' }));
        expect(missing).toBeInstanceOf(WrongExpectedRevisionError);
        expect(missing).toMatchObject({ streamId: id, expected: 'stream_exists', actual: 'no_stream' });
        expect((await store.append(id, [event(), event()], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(1n);
        expect(await failure(store.append(id, [event()], { expectedRevision: 'no_stream' }))).toMatchObject({
          expected: 'no_stream',
          actual: 1n,
        });
        const stale = await failure(store.append(id, [event()], { expectedRevision: 0n }));
        expect(stale).toBeInstanceOf(WrongExpectedRevisionError);
        expect(stale).toMatchObject({ expected: 0n, actual: 1n });
        expect(await failure(store.append(id, [event()], { expectedRevision: 5n }))).toMatchObject({ expected: 5n, actual: 1n });
        expect((await store.append(id, [event()], { expectedRevision: 1n })).nextExpectedRevision).toBe(2n);
        expect((await store.append(id, [event()], { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(3n);
        expect((await store.append(id, [event()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(4n);
        expect((await store.append(stream(), [event()], { expectedRevision: 'any' })).nextExpectedRevision).toBe(0n);
        expect(await failure(store.append(stream(), [event()], { expectedRevision: 0n }))).toMatchObject({
          expected: 0n,
          actual: 'no_stream',
        });
        expect((await store.readStream(id)).map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      });

      it('returns increasing global positions that match what the reads report', async () => {
        const id = stream();
        const first = await store.append(id, [event()], { expectedRevision: 'no_stream' });
        const second = await store.append(id, [event(), event()], { expectedRevision: 0n });
        expect(comparePositions(second.position, first.position)).toBeGreaterThan(0);
        const events = await store.readStream(id);
        expect(events[0]!.position).toEqual(first.position);
        expect(events.at(-1)!.position).toEqual(second.position);
        expect(comparePositions(events[1]!.position, first.position)).toBeGreaterThan(0);
      });

      it('refuses bad input before writing anything', async () => {
        const id = stream();
        await expect(store.append(id, [], { expectedRevision: 'any' })).rejects.toBeInstanceOf(RangeError);
        await expect(store.append(id, [{ ...event(), id: 'not-a-uuid' }], { expectedRevision: 'any' })).rejects.toBeInstanceOf(RangeError);
        const twice = event();
        await expect(store.append(id, [twice, event(), twice], { expectedRevision: 'any' })).rejects.toBeInstanceOf(RangeError);
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
      });
    });

    describe('idempotency', () => {
      it('treats a retried append (same ids, same expectation) as a no-op returning the first result', async () => {
        for (const expectation of ['no_stream', 'any', 'exact'] as const) {
          const id = stream();
          const before = expectation === 'exact' ? await store.append(id, [event('Setup')], { expectedRevision: 'no_stream' }) : undefined;
          const expectedRevision: ExpectedRevision = before
            ? before.nextExpectedRevision
            : expectation === 'exact'
              ? 'no_stream'
              : expectation;
          const batch = [event('A'), event('B')];
          const first = await store.append(id, batch, { expectedRevision });
          const retried = await store.append(id, batch, { expectedRevision });
          expect({ ...retried, idempotent: undefined }, expectation).toEqual({ ...first, idempotent: undefined });
          expect([first.idempotent, retried.idempotent], expectation).toEqual([false, true]);
          expect(
            (await store.readStream(id)).map((e) => e.type),
            expectation,
          ).toEqual([...(before ? ['Setup'] : []), 'A', 'B']);
        }
      });

      it('refuses a retry that repeats only some of the ids, writing nothing', async () => {
        const id = stream();
        const [a, b] = [event('A'), event('B')];
        await store.append(id, [a, b], { expectedRevision: 'no_stream' });
        await expect(store.append(id, [a, event('C')], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(IdempotencyConflictError);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('refuses ids repeated at the current revision where the store keeps ids unique per stream', async () => {
        if (target.behaviour?.refusesRepeatedIdsAtCurrentRevision === false) return;
        const id = stream();
        const [a, b] = [event('A'), event('B')];
        await store.append(id, [a, b], { expectedRevision: 'no_stream' });
        await expect(store.append(id, [b, event('C')], { expectedRevision: 1n })).rejects.toBeInstanceOf(IdempotencyConflictError);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B']);
        expect((await store.append(id, [event('C')], { expectedRevision: 1n })).nextExpectedRevision).toBe(2n);
      });
    });

    describe('readStream', () => {
      it('reads forwards and backwards, from a revision, with a max count', async () => {
        const id = stream();
        await store.append(
          id,
          Array.from({ length: 10 }, (_, i) => event('N', { i })),
          { expectedRevision: 'no_stream' },
        );
        const revisions = (events: RecordedEvent[]) => events.map((e) => Number(e.revision));
        expect(revisions(await store.readStream(id))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(revisions(await store.readStream(id, { fromRevision: 7n }))).toEqual([7, 8, 9]);
        expect(revisions(await store.readStream(id, { fromRevision: 2n, maxCount: 3 }))).toEqual([2, 3, 4]);
        expect(revisions(await store.readStream(id, { direction: 'backwards' }))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(revisions(await store.readStream(id, { direction: 'backwards', maxCount: 2 }))).toEqual([9, 8]);
        expect(revisions(await store.readStream(id, { direction: 'backwards', fromRevision: 3n }))).toEqual([3, 2, 1, 0]);
        expect(revisions(await store.readStream(id, { direction: 'backwards', fromRevision: 6n, maxCount: 2 }))).toEqual([6, 5]);
        expect(await store.readStream(id, { fromRevision: 10n })).toEqual([]);
        const [first] = await store.readStream(id, { maxCount: 1 });
        expect(first).toMatchObject({ type: 'N', streamId: id, revision: 0n, data: { i: 0 }, metadata: { tenantId: 'contract' } });
        expect(first!.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(first!.recordedAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
      });

      it('throws StreamNotFoundError for a missing stream', async () => {
        const missing = await failure(store.readStream(stream()));
        expect(missing).toBeInstanceOf(StreamNotFoundError);
      });

      it('tells which streams exist in one call: missing and soft-deleted ones do not, a recreated one does', async () => {
        const [kept, deleted, recreated, missing] = [stream(), stream(), stream(), stream()];
        for (const id of [kept, deleted, recreated]) await store.append(id, [event()], { expectedRevision: 'no_stream' });
        await store.deleteStream(deleted, { expectedRevision: 'any' });
        await store.deleteStream(recreated, { expectedRevision: 'any' });
        await store.append(recreated, [event('Again')], { expectedRevision: 'any' });
        const found = await store.existingStreams([kept, deleted, recreated, missing, kept]);
        expect([...found].sort()).toEqual([kept, recreated].sort());
        expect(await store.existingStreams([])).toEqual(new Set());
      });
    });

    describe('readAll', () => {
      it('reads strictly after a position, in global order, up to a max count', async () => {
        const category = `all${unique()}`;
        const first = await store.append(`${category}-a`, [event('One'), event('Two')], { expectedRevision: 'no_stream' });
        await store.append(`${category}-b`, [event('Three'), event('Four')], { expectedRevision: 'no_stream' });
        const page = await store.readAll({ after: first.position, maxCount: 2, filter: { categories: [category] } });
        expect(page.events.map((e) => e.type)).toEqual(['Three', 'Four']);
        const fromEarlier = await store.readAll({ after: (await store.readStream(`${category}-a`))[0]!.position, maxCount: 2 });
        expect(fromEarlier.events[0]!.type).toBe('Two');
        expect(fromEarlier.events).toHaveLength(2);
        expect(fromEarlier.isEnd).toBe(false);
        expect(comparePositions(fromEarlier.events[1]!.position, fromEarlier.events[0]!.position)).toBeGreaterThan(0);
        expect(fromEarlier.lastPosition).toEqual(fromEarlier.events[1]!.position);
      });

      it('filters by event type, by category, and by both, and pages through a filter', async () => {
        const category = `cat${unique()}`;
        const kept = `Kept${unique()}`;
        const start = await store.headPosition();
        const a = `${category}-a`;
        const b = `${category}-b`;
        await store.append(a, [event(kept), event('Dropped')], { expectedRevision: 'no_stream' });
        await store.append(stream(), [event(kept)], { expectedRevision: 'no_stream' });
        await store.append(b, [event(kept)], { expectedRevision: 'no_stream' });

        const byType = await store.readAll({ after: start, filter: { eventTypes: [kept] } });
        expect(byType.events.map((e) => e.type)).toEqual([kept, kept, kept]);
        const byCategory = await store.readAll({ after: start, filter: { categories: [category] } });
        expect(byCategory.events.map((e) => `${e.streamId}:${e.type}`)).toEqual([`${a}:${kept}`, `${a}:Dropped`, `${b}:${kept}`]);
        const both = await store.readAll({ after: start, filter: { categories: [category], eventTypes: [kept] } });
        expect(both.events.map((e) => e.streamId)).toEqual([a, b]);

        const firstPage = await store.readAll({ after: start, maxCount: 2, filter: { categories: [category] } });
        expect(firstPage.events).toHaveLength(2);
        expect(firstPage.isEnd).toBe(false);
        const secondPage = await store.readAll({ after: firstPage.lastPosition, maxCount: 2, filter: { categories: [category] } });
        expect(secondPage.events.map((e) => e.streamId)).toEqual([b]);
        expect(secondPage.isEnd).toBe(true);
      });

      it('moves lastPosition past a range it filtered out, so a filtered reader never rescans it', async () => {
        const category = `skip${unique()}`;
        const mine = await store.append(`${category}-1`, [event()], { expectedRevision: 'no_stream' });
        let others: Position = mine.position;
        for (let i = 0; i < 3; i++)
          others = (await store.append(stream('other'), [event(), event()], { expectedRevision: 'no_stream' })).position;
        const page = await store.readAll({ after: mine.position, filter: { categories: [category] } });
        expect(page.events).toEqual([]);
        expect(page.isEnd).toBe(true);
        expect(comparePositions(page.lastPosition, others)).toBeGreaterThanOrEqual(0);
        const later = await store.append(`${category}-1`, [event('Later')], { expectedRevision: 0n });
        const next = await store.readAll({ after: page.lastPosition, filter: { categories: [category] } });
        expect(next.events.map((e) => e.position)).toEqual([later.position]);
      });

      it('reports the head position: the newest event', async () => {
        const { position } = await store.append(stream(), [event()], { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        expect(comparePositions(head, position)).toBeGreaterThanOrEqual(0);
        expect(comparePositions(head, START)).toBeGreaterThan(0);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a checkpoint, then delivers live events in order', async () => {
        const category = `sub${unique()}`;
        const before = await store.append(`${category}-1`, [event('Old')], { expectedRevision: 'no_stream' });
        const after = await store.append(`${category}-1`, [event('Caught')], { expectedRevision: 0n });
        const seen: RecordedEvent[] = [];
        const checkpoints: Position[] = [];
        let caughtUp = false;
        const subscription = store.subscribeToAll({
          after: before.position,
          filter: { categories: [category] },
          onBatch: async (events, checkpoint) => {
            seen.push(...events);
            checkpoints.push(checkpoint);
          },
          onCaughtUp: () => (caughtUp = true),
        });
        try {
          await waitUntil(() => caughtUp && seen.length === 1);
          expect(seen[0]!.position).toEqual(after.position);
          await store.append(`${category}-2`, [event('Live1'), event('Live2')], { expectedRevision: 'no_stream' });
          await waitUntil(() => seen.length === 3);
          expect(seen.map((e) => e.type)).toEqual(['Caught', 'Live1', 'Live2']);
          for (let i = 1; i < seen.length; i++) expect(comparePositions(seen[i]!.position, seen[i - 1]!.position)).toBeGreaterThan(0);
          // A checkpoint never runs ahead of an event not yet delivered, and never goes back.
          for (let i = 1; i < checkpoints.length; i++)
            expect(comparePositions(checkpoints[i]!, checkpoints[i - 1]!)).toBeGreaterThanOrEqual(0);
          expect(comparePositions(checkpoints.at(-1)!, seen.at(-1)!.position)).toBeGreaterThanOrEqual(0);
        } finally {
          await subscription.stop();
        }
      });

      it('filters by event type and advances its checkpoint over events it filtered out', async () => {
        const wanted = `Wanted${unique()}`;
        const start = await store.headPosition();
        const seen: RecordedEvent[] = [];
        const checkpoints: Position[] = [];
        const subscription = store.subscribeToAll({
          after: start,
          filter: { eventTypes: [wanted] },
          onBatch: async (events, checkpoint) => {
            seen.push(...events);
            checkpoints.push(checkpoint);
          },
        });
        try {
          const delivered = await store.append(stream(), [event(wanted)], { expectedRevision: 'no_stream' });
          await waitUntil(() => seen.length === 1);
          // Enough unwanted events to fill a server-side search window, so a filtering server must report a checkpoint.
          const unwanted = await store.append(
            stream(),
            Array.from({ length: 80 }, () => event('Unwanted')),
            { expectedRevision: 'no_stream' },
          );
          await waitUntil(() => checkpoints.some((c) => comparePositions(c, delivered.position) > 0));
          expect(seen.map((e) => e.id)).toHaveLength(1);
          expect(seen[0]!.position).toEqual(delivered.position);
          for (let i = 1; i < checkpoints.length; i++)
            expect(comparePositions(checkpoints[i]!, checkpoints[i - 1]!)).toBeGreaterThanOrEqual(0);
          expect(comparePositions(checkpoints[0]!, start)).toBeGreaterThan(0);
          // Only its own appends are below this test's checkpoints, so the unwanted batch was skipped, not missed.
          expect(comparePositions(unwanted.position, delivered.position)).toBeGreaterThan(0);
        } finally {
          await subscription.stop();
        }
        // Stopped means stopped: nothing more is delivered.
        const count = checkpoints.length;
        await store.append(stream(), [event(wanted)], { expectedRevision: 'no_stream' });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(checkpoints).toHaveLength(count);
      });
    });

    describe('soft delete', () => {
      it('reads a deleted stream as not found and checks the expected revision', async () => {
        const id = stream();
        await store.append(id, [event(), event()], { expectedRevision: 'no_stream' });
        expect(await failure(store.deleteStream(id, { expectedRevision: 0n }))).toMatchObject({
          name: 'WrongExpectedRevisionError',
          actual: 1n,
        });
        expect(await failure(store.deleteStream(id, { expectedRevision: 'no_stream' }))).toBeInstanceOf(WrongExpectedRevisionError);
        await store.deleteStream(id, { expectedRevision: 1n });
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
        expect(await failure(store.append(id, [event()], { expectedRevision: 'stream_exists' }))).toBeInstanceOf(
          WrongExpectedRevisionError,
        );
      });

      it('deletes with stream_exists only a stream that exists', async () => {
        const id = stream();
        expect(await failure(store.deleteStream(id, { expectedRevision: 'stream_exists' }))).toBeInstanceOf(WrongExpectedRevisionError);
        await store.append(id, [event()], { expectedRevision: 'no_stream' });
        await store.deleteStream(id, { expectedRevision: 'stream_exists' });
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
      });

      it('recreates a deleted stream on append, continuing its revisions and hiding the old events', async () => {
        const id = stream();
        await store.append(id, [event(), event()], { expectedRevision: 'no_stream' });
        await store.deleteStream(id, { expectedRevision: 'any' });
        const recreated = await store.append(id, [event('Again')], { expectedRevision: 'no_stream' });
        expect(recreated.nextExpectedRevision).toBe(2n);
        expect((await store.readStream(id)).map((e) => [e.type, e.revision])).toEqual([['Again', 2n]]);
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
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(fc.array(attempt, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 8 }),
          async (streamCount, writers) => {
            const category = `prop${unique()}`;
            const streams = Array.from({ length: streamCount }, (_, i) => `${category}-s${i}`);
            const known = new Map<string, bigint>(); // the writers' shared, racy knowledge of each stream's revision
            const accepted: { streamId: string; ids: string[] }[] = [];
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
                writers.map(async (attempts: Attempt[], writer) => {
                  for (const [index, a] of attempts.entries()) {
                    const streamId = streams[a.stream % streamCount]!;
                    const events = Array.from({ length: a.size }, () => event('W', { writer, index }));
                    const last = known.get(streamId);
                    const expectedRevision: ExpectedRevision =
                      a.expectation === 'fresh'
                        ? (last ?? 'no_stream')
                        : a.expectation === 'stale'
                          ? last !== undefined && last > 0n
                            ? last - 1n
                            : 0n
                          : a.expectation;
                    try {
                      const result = await store.append(streamId, events, { expectedRevision });
                      known.set(streamId, result.nextExpectedRevision);
                      accepted.push({ streamId, ids: events.map((e) => e.id) });
                    } catch (error) {
                      if (!(error instanceof WrongExpectedRevisionError)) throw error;
                      if (error.actual !== 'no_stream') known.set(streamId, error.actual);
                      rejected.push(...events.map((e) => e.id));
                    }
                  }
                }),
              );
              const acceptedIds = accepted.flatMap((a) => a.ids);
              const stored: RecordedEvent[] = [];
              for (const streamId of streams) {
                const events = await store
                  .readStream(streamId)
                  .catch((e: unknown) => (e instanceof StreamNotFoundError ? [] : Promise.reject(e)));
                expect(events.map((e) => Number(e.revision))).toEqual(events.map((_, i) => i));
                stored.push(...events);
              }
              // Nothing lost, nothing duplicated, nothing rejected left behind.
              expect(stored.map((e) => e.id).sort()).toEqual([...acceptedIds].sort());
              const storedIds = new Set(stored.map((e) => e.id));
              expect(rejected.filter((id) => storedIds.has(id))).toEqual([]);
              // Each accepted batch sits contiguously in its own stream.
              const byId = new Map(stored.map((e) => [e.id, e]));
              for (const { streamId, ids } of accepted) {
                const batch = ids.map((id) => byId.get(id)!);
                expect(batch.every((e) => e.streamId === streamId)).toBe(true);
                expect(batch.map((e) => e.revision)).toEqual(batch.map((_, i) => batch[0]!.revision + BigInt(i)));
              }
              // The subscriber got exactly the committed events, in strictly increasing global position.
              await waitUntil(() => delivered.length >= acceptedIds.length);
              await new Promise((resolve) => setTimeout(resolve, 30));
              expect(delivered.map((e) => e.id).sort()).toEqual([...acceptedIds].sort());
              for (let i = 1; i < delivered.length; i++)
                expect(comparePositions(delivered[i]!.position, delivered[i - 1]!.position)).toBeGreaterThan(0);
            } finally {
              await subscription.stop();
            }
          },
        ),
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
