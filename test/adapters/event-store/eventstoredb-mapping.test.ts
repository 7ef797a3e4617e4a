import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryRegex, eventTypeRegex, isSystemEvent, matchesFilter, serverFilterOf, toRecordedEvent } from '../../../src/adapters/event-store/eventstoredb-mapping.js';

describe('EventStoreDB mapping', () => {
  it('builds a category regex that matches exactly the streams of those categories', () => {
    const regex = new RegExp(categoryRegex(['template', 'batch.op']));
    expect(['template-1', 'template', 'batch.op-9'].every((s) => regex.test(s))).toBe(true);
    expect(['templates-1', 'xtemplate-1', 'batchXop-1', 'reservation-template'].some((s) => regex.test(s))).toBe(false);
  });

  it('agrees with the client-side filter for any stream name and category (property)', () => {
    const word = fc.stringMatching(/^[a-z.$+*]{1,6}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 3 }), word, fc.option(word, { nil: undefined }), (categories, category, id) => {
        const streamId = id === undefined ? category : `${category}-${id}`;
        expect(new RegExp(categoryRegex(categories)).test(streamId)).toBe(matchesFilter({ categories }, 'E', streamId) || isSystemEvent('E', streamId) && categories.includes(category));
      }),
    );
  });

  it('matches event types exactly, never by prefix', () => {
    const regex = new RegExp(eventTypeRegex(['Created']));
    expect(regex.test('Created')).toBe(true);
    expect(regex.test('CreatedV2')).toBe(false);
  });

  it('picks one server-side filter and leaves the rest to the client', () => {
    expect(serverFilterOf(undefined)).toEqual({ on: 'no_system' });
    expect(serverFilterOf({ eventTypes: ['A'] }).on).toBe('type');
    expect(serverFilterOf({ eventTypes: ['A'], categories: ['c'] }).on).toBe('stream');
    expect(matchesFilter({ eventTypes: ['A'], categories: ['c'] }, 'B', 'c-1')).toBe(false);
    expect(matchesFilter({ eventTypes: ['A'], categories: ['c'] }, 'A', 'c-1')).toBe(true);
    expect(matchesFilter(undefined, '$metadata', 'c-1')).toBe(false);
    expect(matchesFilter(undefined, 'A', '$$c-1')).toBe(false);
  });

  it('maps a recorded event with its $all position, and refuses one without', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    const base = { id: 'e1', type: 'A', streamId: 'c-1', revision: 3n, created, data: { x: 1 }, metadata: { tenantId: 't' } };
    expect(toRecordedEvent({ ...base, position: { commit: 10n, prepare: 9n } })).toEqual({
      id: 'e1', type: 'A', streamId: 'c-1', revision: 3n, position: { commit: 10n, prepare: 9n }, data: { x: 1 }, metadata: { tenantId: 't' }, recordedAt: created,
    });
    expect(() => toRecordedEvent(base)).toThrow(/no \$all position/);
  });
});
