import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actualRevisionOf,
  categoryRegex,
  classifyRepeat,
  collectRepeatedIds,
  deleteRetryRevision,
  eventTypeRegex,
  fromCurrentRevision,
  isAfter,
  isSystemEvent,
  matchesFilter,
  readPositionAfter,
  serverFilterOf,
  subscriptionFilterOf,
  toAppendExpectedRevision,
  toRecordedEvent,
  type EsdbRecorded,
} from '../../../src/adapters/event-store/eventstoredb-mapping.js';
import { START, comparePositions, streamCategory } from '../../../src/ports/event-store.js';

describe('EventStoreDB mapping', () => {
  describe('expected revisions', () => {
    it('maps each expectation to the client constant of the same meaning', () => {
      expect(toAppendExpectedRevision('no_stream')).toBe('no_stream');
      expect(toAppendExpectedRevision('any')).toBe('any');
      expect(toAppendExpectedRevision('stream_exists')).toBe('stream_exists');
      expect(toAppendExpectedRevision(0n)).toBe(0n);
      expect(toAppendExpectedRevision(41n)).toBe(41n);
    });

    it("reads the server's current revision back as the port's actual revision", () => {
      expect(fromCurrentRevision('no_stream')).toBe('no_stream');
      expect(fromCurrentRevision(7n)).toBe(7n);
      expect(fromCurrentRevision(0n)).toBe(0n);
      // The server's "-1" for a stream without events is no stream.
      expect(fromCurrentRevision(-1n)).toBe('no_stream');
    });
  });

  describe('positions', () => {
    it('starts reading $all at the start, or at the given position (the server reads it inclusively)', () => {
      expect(readPositionAfter(undefined)).toBe('start');
      expect(readPositionAfter(START)).toBe('start');
      expect(readPositionAfter({ commit: 10n, prepare: 9n })).toEqual({ commit: 10n, prepare: 9n });
    });

    it('keeps only events strictly after a position, agreeing with comparePositions (property)', () => {
      const position = fc.record({ commit: fc.bigInt({ min: 0n, max: 1n << 40n }), prepare: fc.bigInt({ min: 0n, max: 1n << 40n }) });
      fc.assert(
        fc.property(position, position, (event, after) => {
          expect(isAfter(event, after)).toBe(comparePositions(event, after) > 0);
          expect(isAfter(event, undefined)).toBe(true);
        }),
      );
    });
  });

  describe('filters', () => {
    it('builds a category regex that matches exactly the streams of those categories', () => {
      const regex = new RegExp(categoryRegex(['template', 'batch.op']));
      expect(['template-1', 'template', 'batch.op-9', 'template-a-b'].every((s) => regex.test(s))).toBe(true);
      expect(['templates-1', 'xtemplate-1', 'batchXop-1', 'reservation-template'].some((s) => regex.test(s))).toBe(false);
    });

    it("agrees with the port's category for any stream name (property)", () => {
      const word = fc.stringMatching(/^[a-z.$+*()[\]|^\\]{1,6}$/);
      fc.assert(
        fc.property(
          fc.array(word, { minLength: 1, maxLength: 3 }),
          word,
          fc.option(word, { nil: undefined }),
          (categories, category, rest) => {
            const streamId = rest === undefined ? category : `${category}-${rest}`;
            expect(new RegExp(categoryRegex(categories)).test(streamId)).toBe(categories.includes(streamCategory(streamId)));
          },
        ),
      );
    });

    it('matches event types exactly, never by prefix', () => {
      const regex = new RegExp(eventTypeRegex(['Created', 'a.b']));
      expect(regex.test('Created')).toBe(true);
      expect(regex.test('CreatedV2')).toBe(false);
      expect(regex.test('axb')).toBe(false);
    });

    it('filters on the server by stream when categories are given, by type otherwise, and leaves types to the client when both are', () => {
      expect(serverFilterOf(undefined)).toEqual({ on: 'no_system' });
      expect(serverFilterOf({ eventTypes: ['A'] })).toEqual({ on: 'type', regex: '^(A)$' });
      expect(serverFilterOf({ eventTypes: ['A'], categories: ['c'] })).toEqual({ on: 'stream', regex: '^(c)(-|$)' });
      expect(matchesFilter({ eventTypes: ['A'], categories: ['c'] }, 'B', 'c-1')).toBe(false);
      expect(matchesFilter({ eventTypes: ['A'], categories: ['c'] }, 'A', 'c-1')).toBe(true);
      expect(matchesFilter({ eventTypes: ['A'], categories: ['c'] }, 'A', 'd-1')).toBe(false);
    });

    it('never lets system events through', () => {
      expect(isSystemEvent('$metadata', 'c-1')).toBe(true);
      expect(isSystemEvent('A', '$$c-1')).toBe(true);
      expect(matchesFilter(undefined, '$metadata', 'c-1')).toBe(false);
      expect(matchesFilter(undefined, 'A', '$$c-1')).toBe(false);
      expect(matchesFilter({ eventTypes: ['$>'] }, '$>', '$ce-c')).toBe(false);
      expect(matchesFilter(undefined, 'A', 'c-1')).toBe(true);
    });

    it('builds the subscription filter with checkpoints on every window', () => {
      const checkpointReached = () => undefined;
      const byStream = subscriptionFilterOf({ categories: ['c'] }, { checkpointInterval: 1, checkpointReached });
      expect(byStream).toMatchObject({ filterOn: 'streamName', regex: '^(c)(-|$)', checkpointInterval: 1, checkpointReached });
      expect(subscriptionFilterOf({ eventTypes: ['A'] }, { checkpointInterval: 1, checkpointReached })).toMatchObject({
        filterOn: 'eventType',
        regex: '^(A)$',
      });
      const noSystem = subscriptionFilterOf(undefined, { checkpointInterval: 1, checkpointReached });
      expect(noSystem).toMatchObject({ filterOn: 'eventType', checkpointReached });
      expect(new RegExp((noSystem as { regex: string }).regex).test('$metadata')).toBe(false);
      expect(new RegExp((noSystem as { regex: string }).regex).test('Created')).toBe(true);
    });
  });

  describe('refused appends', () => {
    it('tells a full repeat, a partial repeat and a real conflict apart, ignoring the case of ids', () => {
      const stored = new Set(['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002']);
      expect(classifyRepeat(['AAAAAAAA-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002'], stored)).toBe('all');
      expect(classifyRepeat(['aaaaaaaa-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000003'], stored)).toBe('some');
      expect(classifyRepeat(['aaaaaaaa-0000-4000-8000-000000000003'], stored)).toBe('none');
    });

    const recorded = (revision: number): EsdbRecorded => ({
      id: `aaaaaaaa-0000-4000-8000-${String(revision).padStart(12, '0')}`,
      type: 'A',
      streamId: 'c-1',
      revision: BigInt(revision),
      created: new Date(0),
      data: {},
      position: { commit: BigInt(revision), prepare: BigInt(revision) },
    });

    it('searches a stream for repeated ids page by page, to its start if need be: no window (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 3000 }),
          fc.integer({ min: 1, max: 500 }),
          fc.uniqueArray(fc.nat({ max: 3500 }), { minLength: 1, maxLength: 4 }),
          (length, pageSize, wanted) => {
            const stream = Array.from({ length }, (_, i) => recorded(i)); // what the server holds
            const ids = new Set(wanted.map((r) => recorded(r).id));
            const found = new Map<string, EsdbRecorded>();
            let end = length; // read backwards from the end, like the adapter
            for (;;) {
              const page = stream.slice(Math.max(0, end - pageSize), end).reverse();
              if (collectRepeatedIds(ids, found, page, pageSize) === 'done') break;
              end -= pageSize;
            }
            expect([...found.keys()].sort()).toEqual(
              wanted
                .filter((r) => r < length)
                .map((r) => recorded(r).id)
                .sort(),
            );
          },
        ),
      );
    });

    it('stops searching once every id is found, before the start of a long stream', () => {
      const ids = new Set([recorded(5000).id]);
      const found = new Map<string, EsdbRecorded>();
      expect(collectRepeatedIds(ids, found, [recorded(5001), recorded(5000)], 2)).toBe('done');
      expect(collectRepeatedIds(new Set([recorded(1).id]), new Map(), [recorded(5001), recorded(5000)], 2)).toBe('more');
    });

    it("reports a soft-deleted stream's actual revision as no_stream, as PostgreSQL does", () => {
      expect(actualRevisionOf(4n, false)).toBe('no_stream');
      expect(actualRevisionOf(4n, true)).toBe(4n);
      expect(actualRevisionOf('no_stream', true)).toBe('no_stream');
    });

    it('deletes again past a concurrent append only for stream_exists', () => {
      expect(deleteRetryRevision('stream_exists', 7n)).toBe(7n);
      expect(deleteRetryRevision('stream_exists', 'no_stream')).toBeUndefined();
      expect(deleteRetryRevision(3n, 7n)).toBeUndefined();
      expect(deleteRetryRevision('any', 7n)).toBeUndefined();
    });
  });

  it('maps a recorded event with its $all position and created time, and refuses one without a position', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const base = { id: 'e1', type: 'A', streamId: 'c-1', revision: 3n, created, data: { x: 1 }, metadata: { tenantId: 't' } };
    expect(toRecordedEvent({ ...base, position: { commit: 10n, prepare: 9n } })).toEqual({
      id: 'e1',
      type: 'A',
      streamId: 'c-1',
      revision: 3n,
      position: { commit: 10n, prepare: 9n },
      data: { x: 1 },
      metadata: { tenantId: 't' },
      recordedAt: created,
    });
    // Events written by other clients may carry no metadata or binary metadata: both read as {}.
    expect(toRecordedEvent({ ...base, metadata: undefined, position: { commit: 1n, prepare: 1n } }).metadata).toEqual({});
    expect(toRecordedEvent({ ...base, metadata: new Uint8Array([1]), position: { commit: 1n, prepare: 1n } }).metadata).toEqual({});
    expect(() => toRecordedEvent(base)).toThrow(/no \$all position/);
  });
});
