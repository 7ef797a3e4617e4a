// The template projection's fold, without a database: typed events onto rows, what a batch adds beside
// them, and the property that the cut of a batch into deliveries does not change what ends up stored.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import type { TemplateChanges, TemplateContent, TemplateEvent, TemplateTag } from '../../../src/domain/templates/index.js';
import { foldTemplateEvents, type TemplateFold } from '../../../src/projections/templates/template-fold.js';
import {
  readTemplateFamilyEvent,
  type EventContext,
  type TemplateFamilyEvent,
} from '../../../src/projections/templates/template-projection-events.js';
import type { FavoriteRow, HistoryRow, TemplateRow, VersionRow } from '../../../src/projections/templates/template-tables.js';
import { templateContent } from '../../support/template-content.js';

const content = (name: string, overrides: Partial<TemplateContent> = {}): TemplateContent => templateContent({ name, ...overrides });

const T0 = Date.parse('2026-11-01T08:00:00Z');
const context = (minute: number, tenantId = 'a', userId = 'u'): EventContext => ({
  at: new Date(T0 + minute * 60_000),
  tenantId,
  userId,
  correlationId: null,
});

const own = (templateId: string, revision: number, event: TemplateEvent, at = context(revision)): TemplateFamilyEvent => ({
  stream: 'template',
  templateId,
  revision,
  context: at,
  event,
  recordedData: JSON.parse(JSON.stringify(event.data)),
});
const created = (templateId: string, c: TemplateContent, parentTemplateId: string | null = null, at?: EventContext) =>
  own(
    templateId,
    0,
    {
      type: 'TemplateCreated',
      data: {
        ...c,
        templateId,
        ownerTenantId: at?.tenantId ?? 'a',
        parentTemplateId,
        isSystemTemplate: false,
        status: 'draft',
        version: 1,
      },
    },
    at,
  );
const favorite = (templateId: string, userId: string, favorited: boolean, at: EventContext): TemplateFamilyEvent => ({
  stream: 'favorite',
  templateId,
  context: at,
  event: { type: favorited ? 'TemplateFavorited' : 'TemplateUnfavorited', data: { templateId, userId } },
});
const usage = (
  templateId: string,
  outcome: 'success' | 'error',
  at: EventContext,
  usageType: 'create_course' | 'bulk_create' = 'create_course',
): TemplateFamilyEvent => ({
  stream: 'usage',
  templateId,
  context: at,
  event: {
    type: 'TemplateUsageRecorded',
    data: {
      usageType,
      customizations: {},
      outcome,
      errorMessage: outcome === 'success' ? null : 'failed',
      usedBy: at.userId,
      courseId: null,
      templateVersion: 1,
      templateId,
    },
  },
});

const onlyRow = (fold: TemplateFold, id: string) => fold.rows.get(id)!;

describe('template fold', () => {
  const id = randomUUID();

  it('makes the row of a created template from its own content, with its first version and audit entry', () => {
    const tags: TemplateTag[] = [{ name: 'TypeScript', value: 'advanced', type: 'skill' }];
    const fold = foldTemplateEvents(new Map(), [created(id, content('Intro', { description: 'Basics', tags, isPublic: true }))]);
    expect(onlyRow(fold, id)).toMatchObject({
      template_id: id,
      tenant_id: 'a',
      name: 'Intro',
      description: 'Basics',
      is_public: true,
      status: 'draft',
      version: 1,
      revision: 0,
      tag_keys: ['skill:typescript'],
      search_text: 'intro basics typescript advanced',
      usage_count: 0,
      favorites_count: 0,
    });
    expect([...fold.dirty]).toEqual([id]);
    expect([...fold.reshaped]).toEqual([id]);
    expect(fold.versions).toMatchObject([{ template_id: id, version: 1, event_type: 'TemplateCreated' }]);
    expect(fold.history).toMatchObject([{ template_id: id, revision: 0, event_type: 'TemplateCreated', tenant_id: 'a', user_id: 'u' }]);
  });

  it('applies a template’s own events in order and skips those its row already holds', () => {
    const events = [
      created(id, content('Intro')),
      own(id, 1, { type: 'TemplateUpdated', data: { changes: { name: 'Intro 2', defaultDuration: 90 }, version: 2 } }),
      own(id, 2, {
        type: 'TemplateTagsAdded',
        data: {
          tags: [
            { name: 'Go', value: 'x', type: 'topic' },
            { name: 'Rust', value: 'y', type: 'topic' },
          ],
          version: 3,
        },
      }),
      own(id, 3, { type: 'TemplateTagsRemoved', data: { tags: [{ name: 'go', type: 'topic' }], version: 4 } }),
      own(id, 4, { type: 'TemplateActivated', data: { from: 'draft' } }),
    ];
    const fold = foldTemplateEvents(new Map(), events);
    const row = onlyRow(fold, id);
    expect(row).toMatchObject({
      name: 'Intro 2',
      status: 'active',
      version: 4,
      revision: 4,
      tag_keys: ['topic:rust'],
      updated_at: context(4).at,
    });
    expect(row.content).toMatchObject({ name: 'Intro 2', defaultDuration: 90, tags: [{ name: 'Rust', value: 'y', type: 'topic' }] });
    // A status change is audited but makes no version.
    expect(fold.versions.map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(fold.history.map((h) => h.event_type)).toEqual([
      'TemplateCreated',
      'TemplateUpdated',
      'TemplateTagsAdded',
      'TemplateTagsRemoved',
      'TemplateActivated',
    ]);

    const replayed = foldTemplateEvents(fold.rows, events);
    expect(replayed.dirty.size).toBe(0);
    expect(replayed.versions).toEqual([]);
    expect(replayed.history).toEqual([]);
  });

  it('forgets what a re-parented template inherited, and marks it for a new effective template', () => {
    const parent = randomUUID();
    const first = foldTemplateEvents(new Map(), [created(parent, content('P')), created(id, content('C'), parent)]);
    const stored = new Map([[id, { ...onlyRow(first, id), inherited: onlyRow(first, parent).effective, parent_unavailable: true }]]);
    const fold = foldTemplateEvents(stored, [
      own(id, 1, { type: 'TemplateParentChanged', data: { parentTemplateId: null, previousParentTemplateId: parent, version: 2 } }),
    ]);
    expect(onlyRow(fold, id)).toMatchObject({ parent_template_id: null, inherited: null, parent_unavailable: false, version: 2 });
    expect([...fold.reshaped]).toEqual([id]);
    expect(stored.get(id)).toMatchObject({ parent_template_id: parent, parent_unavailable: true });
  });

  it('ignores events for a template it has no row of, and those of other templates leave it alone', () => {
    const other = randomUUID();
    const fold = foldTemplateEvents(new Map(), [
      own(other, 3, { type: 'TemplateArchived', data: { from: 'active' } }),
      favorite(other, 'u', true, context(1)),
      usage(other, 'success', context(2)),
    ]);
    expect(fold.rows.size).toBe(0);
    expect(fold.dirty.size + fold.favorites.size + fold.usage.size + fold.history.length).toBe(0);
  });

  it('keeps the last favorite event per user, remembering a removal in the batch (#7.12)', () => {
    const base = foldTemplateEvents(new Map(), [created(id, content('Intro'))]).rows;
    const fold = foldTemplateEvents(base, [
      favorite(id, 'u0', true, context(1, 'b')),
      favorite(id, 'u0', false, context(2, 'b')),
      favorite(id, 'u0', true, context(3, 'b')),
      favorite(id, 'u1', true, context(4, 'b')),
    ]);
    expect([...fold.favorites.values()]).toEqual([
      { row: { template_id: id, tenant_id: 'b', user_id: 'u0', created_at: context(3).at }, favorited: true, removedInBatch: true },
      { row: { template_id: id, tenant_id: 'b', user_id: 'u1', created_at: context(4).at }, favorited: true, removedInBatch: false },
    ]);
    // A favorite never moves the template's revision.
    expect(onlyRow(fold, id).revision).toBe(0);
    expect([...fold.dirty]).toEqual([id]);
  });

  it('counts usages on the row and by tenant, day and type, after the template’s own events', () => {
    const later = { ...context(60 * 24, 'b'), at: new Date(T0 + 86_400_000) };
    const fold = foldTemplateEvents(new Map(), [
      usage(id, 'success', context(5, 'b')),
      created(id, content('Intro')),
      usage(id, 'error', context(6, 'b')),
      usage(id, 'success', later, 'bulk_create'),
    ]);
    expect(onlyRow(fold, id)).toMatchObject({ usage_count: 3, success_count: 2, last_used_at: later.at, revision: 0 });
    expect([...fold.usage.values()]).toEqual([
      { template_id: id, tenant_id: 'b', day: '2026-11-01', usage_type: 'create_course', success_count: 1, error_count: 1 },
      { template_id: id, tenant_id: 'b', day: '2026-11-02', usage_type: 'bulk_create', success_count: 1, error_count: 0 },
    ]);
  });

  it('reads recorded events of the template family into typed ones, and nothing else', () => {
    const recorded = (
      streamId: string,
      type: string,
      data: RecordedEvent['data'],
      metadata: RecordedEvent['metadata'] = {},
    ): RecordedEvent => ({
      id: randomUUID(),
      type,
      streamId,
      revision: 2n,
      position: { commit: 1n, prepare: 1n },
      data,
      metadata,
      recordedAt: new Date(T0),
    });
    const upper = id.toUpperCase();
    expect(
      readTemplateFamilyEvent(
        recorded(
          `template-${upper}`,
          'TemplateArchived',
          { from: 'active' },
          { tenantId: 'a', userId: 'u', occurredAt: '2026-11-02T00:00:00.000Z', correlationId: 'c' },
        ),
      ),
    ).toEqual({
      stream: 'template',
      templateId: id,
      revision: 2,
      context: { at: new Date('2026-11-02T00:00:00.000Z'), tenantId: 'a', userId: 'u', correlationId: 'c' },
      event: { type: 'TemplateArchived', data: { from: 'active' } },
      recordedData: { from: 'active' },
    });
    expect(
      readTemplateFamilyEvent(recorded(`templatefavorite-${randomUUID()}`, 'TemplateFavorited', { templateId: upper, userId: 'a:u' })),
    ).toMatchObject({
      stream: 'favorite',
      templateId: id,
      context: { at: new Date(T0), tenantId: '', userId: '', correlationId: null },
    });
    expect(
      readTemplateFamilyEvent(recorded(`templateusage-${id}`, 'TemplateUsageRecorded', { usageType: 'bulk_create', outcome: 'success' })),
    ).toMatchObject({ stream: 'usage', templateId: id });
    expect(
      readTemplateFamilyEvent(recorded(`templatefavorite-${randomUUID()}`, 'TemplateFavorited', { templateId: 'not-a-uuid', userId: 'u' })),
    ).toBeUndefined();
    expect(readTemplateFamilyEvent(recorded(`template-${id}`, 'SomethingNewer', {}))).toBeUndefined();
    expect(readTemplateFamilyEvent(recorded(`templateusage-${id}`, 'TemplateFavorited', { templateId: id, userId: 'u' }))).toBeUndefined();
    expect(readTemplateFamilyEvent(recorded(`category-${id}`, 'CategoryCreated', {}))).toBeUndefined();
  });
});

/** The tables as the persistence writes them (template-persistence.ts), in memory. */
interface Stored {
  rows: Map<string, TemplateRow>;
  versions: Map<string, VersionRow>;
  history: Map<string, HistoryRow>;
  favorites: Map<string, FavoriteRow>;
  usage: Map<string, { success: number; error: number }>;
}

function persist(stored: Stored, fold: TemplateFold): void {
  for (const id of fold.dirty) stored.rows.set(id, fold.rows.get(id)!);
  const insertNew = <R>(table: Map<string, R>, key: string, row: R) => void (table.has(key) || table.set(key, row));
  for (const v of fold.versions) insertNew(stored.versions, `${v.template_id}|${v.version}`, v);
  for (const h of fold.history) insertNew(stored.history, `${h.template_id}|${h.revision}`, h);
  for (const { row, favorited, removedInBatch } of fold.favorites.values()) {
    const key = `${row.tenant_id}|${row.user_id}|${row.template_id}`;
    if (!favorited || removedInBatch) stored.favorites.delete(key);
    if (favorited) insertNew(stored.favorites, key, row);
  }
  for (const [key, day] of fold.usage) {
    const sum = stored.usage.get(key) ?? { success: 0, error: 0 };
    stored.usage.set(key, { success: sum.success + day.success_count, error: sum.error + day.error_count });
  }
}

function project(batches: readonly (readonly TemplateFamilyEvent[])[]): Stored {
  const stored: Stored = { rows: new Map(), versions: new Map(), history: new Map(), favorites: new Map(), usage: new Map() };
  for (const batch of batches) {
    const ids = new Set(batch.map((event) => event.templateId));
    persist(stored, foldTemplateEvents(new Map([...stored.rows].filter(([id]) => ids.has(id))), batch));
  }
  return stored;
}

const step = fc.oneof(
  fc.record({ kind: fc.constant('create' as const) }),
  fc.record({
    kind: fc.constant('update' as const),
    index: fc.nat(),
    changes: fc.record(
      {
        name: fc.constantFrom('A', 'B'),
        isPublic: fc.boolean(),
        defaultDuration: fc.option(fc.integer({ min: 1, max: 9 }), { nil: null }),
        dynamicProperties: fc.dictionary(fc.constantFrom('x', 'y'), fc.nat(9), { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ kind: fc.constant('tag' as const), index: fc.nat(), add: fc.boolean(), name: fc.constantFrom('go', 'Go', 'rust') }),
  fc.record({ kind: fc.constant('restore' as const), index: fc.nat(), isPublic: fc.boolean() }),
  fc.record({ kind: fc.constant('parent' as const), index: fc.nat(), parent: fc.option(fc.nat(), { nil: null }) }),
  fc.record({
    kind: fc.constant('status' as const),
    index: fc.nat(),
    type: fc.constantFrom(
      'TemplateActivated' as const,
      'TemplateArchived' as const,
      'TemplateDeprecated' as const,
      'TemplateUnarchived' as const,
    ),
  }),
  // Often, and over few (tenant, user) pairs: a favorite toggled across batch cuts is what #7.12 was about.
  {
    arbitrary: fc.record({
      kind: fc.constant('favorite' as const),
      index: fc.nat(),
      tenant: fc.constantFrom('a', 'b'),
      user: fc.constantFrom('u0', 'u1'),
    }),
    weight: 4,
  },
  fc.record({
    kind: fc.constant('usage' as const),
    index: fc.nat(),
    tenant: fc.constantFrom('a', 'b'),
    success: fc.boolean(),
    day: fc.nat(2),
  }),
  // An event of a template this model never saw created (its creation is older than the model).
  fc.record({ kind: fc.constant('orphan' as const) }),
);

/** A history as the command side writes it: each template's stream starts with its creation, favorites
 * alternate per user, and a template's side events come after its creation. */
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function history(steps: readonly Step[]): TemplateFamilyEvent[] {
  const ids: string[] = [];
  const revisions: number[] = [];
  const versions: number[] = [];
  const favorites = new Set<string>();
  const events: TemplateFamilyEvent[] = [];
  const orphan = randomUUID();
  let minute = 0;
  const next = (i: number, event: TemplateEvent) => events.push(own(ids[i]!, ++revisions[i]!, event, context(++minute)));
  for (const s of steps) {
    if (s.kind === 'create') {
      ids.push(randomUUID());
      revisions.push(0);
      versions.push(1);
      events.push(created(ids.at(-1)!, content(`T${ids.length}`), null, context(++minute)));
      continue;
    }
    if (s.kind === 'orphan') {
      events.push(own(orphan, 5 + minute, { type: 'TemplateActivated', data: { from: 'draft' } }, context(++minute)));
      continue;
    }
    if (ids.length === 0) continue;
    const i = s.index % ids.length;
    const id = ids[i]!;
    if (s.kind === 'update')
      next(i, { type: 'TemplateUpdated', data: { changes: s.changes satisfies TemplateChanges, version: ++versions[i]! } });
    else if (s.kind === 'tag') {
      const tagEvent: TemplateEvent = s.add
        ? { type: 'TemplateTagsAdded', data: { tags: [{ name: s.name, value: String(minute), type: 'topic' }], version: ++versions[i]! } }
        : { type: 'TemplateTagsRemoved', data: { tags: [{ name: s.name, type: 'topic' }], version: ++versions[i]! } };
      next(i, tagEvent);
    } else if (s.kind === 'restore')
      next(i, {
        type: 'TemplateVersionRestored',
        data: { restoredFrom: 1, version: ++versions[i]!, content: content(`R${i}`, { isPublic: s.isPublic }) },
      });
    else if (s.kind === 'parent')
      next(i, {
        type: 'TemplateParentChanged',
        data: {
          parentTemplateId: s.parent === null ? null : ids[s.parent % ids.length]!,
          previousParentTemplateId: null,
          version: ++versions[i]!,
        },
      });
    else if (s.kind === 'status') next(i, { type: s.type, data: { from: 'draft' } });
    else if (s.kind === 'favorite') {
      const key = `${s.tenant}|${s.user}|${id}`;
      const favorited = !favorites.has(key);
      if (favorited) favorites.add(key);
      else favorites.delete(key);
      events.push(favorite(id, s.user, favorited, context(++minute, s.tenant)));
    } else
      events.push(
        usage(id, s.success ? 'success' : 'error', { ...context(++minute, s.tenant), at: new Date(T0 + s.day * 86_400_000 + minute) }),
      );
  }
  return events;
}

/** Consecutive batches of the sizes in `cuts` (cycled), covering all of `events`. */
function cut<T>(events: readonly T[], cuts: readonly number[]): T[][] {
  const batches: T[][] = [];
  for (let offset = 0, c = 0; offset < events.length; c++) {
    batches.push(events.slice(offset, offset + cuts[c % cuts.length]!));
    offset += batches.at(-1)!.length;
  }
  return batches;
}

describe('template fold properties', () => {
  const steps = fc.array(step, { maxLength: 40 });
  const toggle: Step = { kind: 'favorite', index: 0, tenant: 'a', user: 'u0' };
  const toggledAcrossCuts: Step[] = [{ kind: 'create' }, toggle, toggle, toggle];

  it('folding a batch at once stores what folding it event by event stores', () => {
    fc.assert(
      fc.property(steps, (s) => {
        const events = history(s);
        expect(project([events])).toEqual(project(events.map((event) => [event])));
      }),
      { numRuns: 300 },
    );
  });

  it('however a history is cut into batches, the stored result is the same', () => {
    fc.assert(
      fc.property(steps, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }), (s, cuts) => {
        const events = history(s);
        expect(project(cut(events, cuts))).toEqual(project([events]));
      }),
      // Favorited in one batch, unfavorited and favorited again in the next: the stored favorite is replaced.
      { numRuns: 300, examples: [[toggledAcrossCuts, [2]]] },
    );
  });

  it('a template’s own events delivered again change nothing', () => {
    fc.assert(
      fc.property(steps, (s) => {
        const own = history(s).filter((event) => event.stream === 'template');
        const once = project([own]);
        const twice = project([own, own]);
        expect(twice).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });
});
