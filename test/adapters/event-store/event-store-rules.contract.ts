// More of the event store port's specification, run by eventStoreContract against every adapter: how a
// refused event fails alone, and what a soft-deleted stream's old event ids mean. Each rule is stated
// through the port only, so the same test runs unchanged on a real EventStoreDB.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  IdempotencyConflictError,
  InvalidEventError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  type EventStore,
  type EventToAppend,
} from '../../../src/ports/event-store.js';

const event = (type = 'Happened', data: EventToAppend['data'] = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { tenantId: 'contract' },
});
const unique = () => randomUUID().replaceAll('-', '').slice(0, 12);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );
const outcome = (settled: PromiseSettledResult<unknown>) => (settled.status === 'fulfilled' ? 'ok' : (settled.reason as Error).name);

export function eventStoreRulesContract(storeOf: () => EventStore): void {
  describe('text a store cannot keep', () => {
    it('refuses an event holding a NUL or a lone surrogate with a typed error naming it, failing alone among concurrent appends', async () => {
      const store = storeOf();
      const category = `bad${unique()}`;
      const bad: Record<number, { events: EventToAppend[]; path: string }> = {
        7: { events: [event('Created', { name: 'a\u0000b' })], path: 'data.name' },
        19: { events: [event(), event('Tagged', { tags: ['ok', 'x\ud800'] })], path: 'data.tags[1]' },
        23: { events: [event('Keyed', { nested: { ['k\udc00']: 1 } })], path: 'data.nested.k\udc00' },
        31: { events: [{ ...event(), metadata: { note: '\u0000' } }], path: 'metadata.note' },
      };
      const streams = Array.from({ length: 40 }, (_, i) => `${category}-${i}`);
      // All at once: a store that groups concurrent appends puts the bad ones in a group with good ones.
      const settled = await Promise.allSettled(
        streams.map((streamId, i) =>
          store.append(streamId, bad[i]?.events ?? [event('Created', { i })], { expectedRevision: 'no_stream' }),
        ),
      );
      expect(settled.map(outcome)).toEqual(streams.map((_, i) => (bad[i] ? 'InvalidEventError' : 'ok')));
      for (const [index, { path }] of Object.entries(bad)) {
        const reason = (settled[Number(index)] as PromiseRejectedResult).reason as InvalidEventError;
        expect(reason).toBeInstanceOf(InvalidEventError);
        expect(reason).toBeInstanceOf(RangeError);
        expect({ streamId: reason.streamId, path: reason.path }).toEqual({ streamId: streams[Number(index)], path });
        await expect(store.readStream(streams[Number(index)]!)).rejects.toBeInstanceOf(StreamNotFoundError);
      }
      for (const [i, streamId] of streams.entries())
        if (!bad[i]) expect((await store.readStream(streamId)).map((e) => e.data)).toEqual([{ i }]);
      // Well-formed text outside the Basic Multilingual Plane (a surrogate pair) is kept as written.
      const emoji = `${category}-emoji`;
      await store.append(emoji, [event('Created', { name: 'ok 😀', ['😀']: '\ud83d\ude00' })], { expectedRevision: 'no_stream' });
      expect((await store.readStream(emoji))[0]!.data).toEqual({ name: 'ok 😀', ['😀']: '😀' });
    });
  });

  describe("a soft-deleted stream's event ids", () => {
    // A retry that arrives after the stream was deleted cannot be answered as "already done" (the events
    // it would point to are gone from the stream) nor written again (ids stay unique per stream): it is
    // refused, as a repeat that is not a plain retry, whatever the expectation.
    it('refuses to append them again, leaving the stream deleted', async () => {
      const store = storeOf();
      for (const expectedRevision of ['no_stream', 'any', 1n] as const) {
        const id = `gone${unique()}-1`;
        const [a, b] = [event('A'), event('B')];
        await store.append(id, [a, b], { expectedRevision: 'no_stream' });
        await store.deleteStream(id, { expectedRevision: 'any' });
        const retried = await store.append(id, [a, b], { expectedRevision }).then(
          (result) => result,
          (error: unknown) => error,
        );
        expect(retried, String(expectedRevision)).toBeInstanceOf(IdempotencyConflictError);
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
        // Recreated with new events, an old id is still refused; the new ones are a plain retry.
        const again = event('Again');
        expect((await store.append(id, [again], { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(2n);
        await expect(store.append(id, [a], { expectedRevision: 'any' })).rejects.toBeInstanceOf(IdempotencyConflictError);
        expect((await store.append(id, [again], { expectedRevision: 'any' })).idempotent).toBe(true);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['Again']);
      }
    });
  });

  describe('retries long after the first attempt', () => {
    // Usage appends rely on event-id dedupe with expectation `any`: a retry must be recognised exactly,
    // however far the stream has moved on since (a store that looks back over a bounded window, or
    // dedupes `any` on a best-effort basis, would count the usage twice).
    it('answers a retry with any, stream_exists or the original revision as done, past 1,024 later events', async () => {
      const store = storeOf();
      const id = `late${unique()}-1`;
      await store.append(id, [event('Setup')], { expectedRevision: 'no_stream' });
      const batch = [event('Counted'), event('Counted')];
      const first = await store.append(id, batch, { expectedRevision: 'any' });
      for (let i = 0; i < 11; i++)
        await store.append(
          id,
          Array.from({ length: 100 }, () => event('Later')),
          { expectedRevision: 'any' },
        );
      for (const expectedRevision of ['any', 'stream_exists', 0n] as const) {
        const retried = await store.append(id, batch, { expectedRevision });
        expect({ ...retried, expectation: String(expectedRevision) }).toEqual({
          ...first,
          idempotent: true,
          expectation: String(expectedRevision),
        });
      }
      await expect(store.append(id, [batch[0]!, event('New')], { expectedRevision: 'any' })).rejects.toBeInstanceOf(
        IdempotencyConflictError,
      );
      expect((await store.readStream(id)).filter((e) => e.type === 'Counted')).toHaveLength(2);
      expect((await store.readStream(id, { direction: 'backwards', maxCount: 1 }))[0]!.revision).toBe(1102n);
    });
  });

  describe('deleting with stream_exists', () => {
    it('never fails with a conflict because of an append that lands at the same moment', async () => {
      const store = storeOf();
      for (let round = 0; round < 10; round++) {
        const id = `race${unique()}-1`;
        await store.append(id, [event()], { expectedRevision: 'no_stream' });
        const [appended, deleted] = await Promise.allSettled([
          store.append(id, [event(), event()], { expectedRevision: 'any' }),
          store.deleteStream(id, { expectedRevision: 'stream_exists' }),
        ]);
        expect([outcome(appended), outcome(deleted)]).toEqual(['ok', 'ok']);
      }
    });
  });

  describe('a soft-deleted stream', () => {
    it('reports its actual revision as no_stream, as a stream that never existed', async () => {
      const store = storeOf();
      const id = `del${unique()}-1`;
      await store.append(id, [event(), event()], { expectedRevision: 'no_stream' });
      await store.deleteStream(id, { expectedRevision: 1n });
      for (const expectedRevision of [1n, 'stream_exists'] as const) {
        const refused = await failure(store.append(id, [event()], { expectedRevision }));
        expect(refused).toBeInstanceOf(WrongExpectedRevisionError);
        expect(refused).toMatchObject({ expected: expectedRevision, actual: 'no_stream' });
      }
      const deletedAgain = await failure(store.deleteStream(id, { expectedRevision: 1n }));
      expect(deletedAgain).toBeInstanceOf(WrongExpectedRevisionError);
      expect(deletedAgain).toMatchObject({ expected: 1n, actual: 'no_stream' });
      expect(await failure(store.deleteStream(id, { expectedRevision: 'stream_exists' }))).toMatchObject({ actual: 'no_stream' });
      await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
    });
  });
}
