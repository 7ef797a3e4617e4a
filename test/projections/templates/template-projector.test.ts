// The template projector against the pure fold: whatever the forest of templates, the order of parent
// changes and content updates, and however the events are cut into batches, every row's effective
// template equals effectiveTemplate() of its final chain, and replaying a batch changes nothing.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import type { JsonObject } from '../../../src/domain/json.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import { effectiveTemplate, type MergeStrategy, type TemplateContent } from '../../../src/domain/templates/index.js';
import { templateProjector } from '../../../src/projections/templates/template-projector.js';

const strategies: MergeStrategy[] = ['override', 'merge', 'extend', 'selective'];
const small = fc.dictionary(
  fc.constantFrom('a', 'b', 'c'),
  fc.oneof(
    fc.integer({ min: 0, max: 9 }),
    fc.dictionary(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 2 }),
  ),
  { maxKeys: 3 },
);

const content = (name: string, dynamicProperties: JsonObject, mergeStrategy: MergeStrategy, duration: number | null): TemplateContent => ({
  name,
  description: null,
  categoryId: null,
  templateType: 'base',
  mergeStrategy,
  selectiveKeys: ['a'],
  defaultDuration: duration,
  defaultMaxParticipants: null,
  defaultMinParticipants: null,
  defaultPrice: null,
  defaultSkillLevel: null,
  dynamicProperties,
  validationRules: {},
  uiConfiguration: {},
  tags: [],
  isPublic: false,
});

type Step =
  | { kind: 'update'; index: number; dynamicProperties: JsonObject; mergeStrategy: MergeStrategy }
  | { kind: 'parent'; index: number; parent: number | null }
  | { kind: 'favorite'; index: number }
  | { kind: 'create' };

const scenario = fc.record({
  templates: fc.array(
    fc.record({
      parent: fc.nat(),
      dynamicProperties: small,
      mergeStrategy: fc.constantFrom(...strategies),
      duration: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }),
    }),
    { minLength: 1, maxLength: 7 },
  ),
  steps: fc.array(
    fc.oneof(
      fc.record({
        kind: fc.constant('update' as const),
        index: fc.nat(),
        dynamicProperties: small,
        mergeStrategy: fc.constantFrom(...strategies),
      }),
      fc.record({ kind: fc.constant('parent' as const), index: fc.nat(), parent: fc.option(fc.nat(), { nil: null }) }),
      // Touches a template without changing its content: it is in the batch, its chain is not.
      fc.record({ kind: fc.constant('favorite' as const), index: fc.nat() }),
      // The next template is created here, between other templates' changes.
      fc.record({ kind: fc.constant('create' as const) }),
    ),
    { maxLength: 16 },
  ),
  cuts: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 20 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
const favoriteToggledInOneBatch: Scenario = {
  templates: [{ parent: 0, dynamicProperties: {}, mergeStrategy: 'merge', duration: null }],
  // Per template the favorite steps go +u0, +u1, -u0, -u1, +u0: u0 ends favorited, all in one batch of six.
  steps: [{ kind: 'create' }, ...Array.from({ length: 5 }, () => ({ kind: 'favorite' as const, index: 0 }))],
  cuts: [6],
};

describe('template projector', () => {
  let db: SqlDatabase;
  beforeAll(async () => {
    db = await createPgliteDatabase();
  });
  afterAll(async () => db?.close());

  it('keeps every effective template equal to the fold of its chain, whatever the batches', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ templates, steps, cuts }) => {
        const ids: string[] = templates.map(() => randomUUID());
        const parents: (number | null)[] = templates.map((t, i) => (i === 0 || t.parent % 3 === 0 ? null : t.parent % i));
        const contents = templates.map((t, i) => content(`T${i}`, t.dynamicProperties, t.mergeStrategy, t.duration));
        const versions = templates.map(() => 1);
        const revisions = templates.map(() => 0);
        const favorites = templates.map(() => new Set<string>());
        let position = 0n;
        const events: RecordedEvent[] = [];
        const emit = (i: number, type: string, data: JsonObject, revision: number) =>
          events.push({
            id: randomUUID(),
            type,
            data,
            streamId: `template-${ids[i]}`,
            revision: BigInt(revision),
            position: { commit: 1n, prepare: ++position },
            metadata: { tenantId: 't', userId: 'u', occurredAt: new Date().toISOString() },
            recordedAt: new Date(),
          });
        let created = 0;
        const create = () => {
          const i = created++;
          emit(
            i,
            'TemplateCreated',
            {
              ...contents[i]!,
              templateId: ids[i]!,
              ownerTenantId: 't',
              parentTemplateId: parents[i] === null ? null : ids[parents[i]!]!,
              isSystemTemplate: false,
              status: 'draft',
              version: 1,
            } as unknown as JsonObject,
            0,
          );
        };
        const ancestors = (i: number | null): number[] => (i === null ? [] : [i, ...ancestors(parents[i]!)]);
        for (const step of steps as Step[]) {
          if (step.kind === 'create') {
            if (created < templates.length) create();
            continue;
          }
          if (created === 0) continue;
          const i = step.index % created;
          if (step.kind === 'favorite') {
            // A favorite lives in its own stream: the template is in the batch without a change of its own.
            const userId = `t:u${favorites[i]!.size % 2}`;
            const type = favorites[i]!.has(userId) ? 'TemplateUnfavorited' : 'TemplateFavorited';
            if (type === 'TemplateFavorited') favorites[i]!.add(userId);
            else favorites[i]!.delete(userId);
            events.push({
              id: randomUUID(),
              type,
              data: { templateId: ids[i]!, userId },
              streamId: `templatefavorite-${randomUUID()}`,
              revision: 0n,
              position: { commit: 1n, prepare: ++position },
              metadata: { tenantId: 't', userId: 'u' },
              recordedAt: new Date(),
            });
          } else if (step.kind === 'update') {
            contents[i] = { ...contents[i]!, dynamicProperties: step.dynamicProperties, mergeStrategy: step.mergeStrategy };
            emit(
              i,
              'TemplateUpdated',
              { changes: { dynamicProperties: step.dynamicProperties, mergeStrategy: step.mergeStrategy }, version: ++versions[i]! },
              ++revisions[i]!,
            );
          } else {
            const parent = step.parent === null ? null : step.parent % created;
            if (parent !== null && ancestors(parent).includes(i)) continue; // the command side refuses cycles
            emit(
              i,
              'TemplateParentChanged',
              {
                parentTemplateId: parent === null ? null : ids[parent]!,
                previousParentTemplateId: parents[i] === null ? null : ids[parents[i]!]!,
                version: ++versions[i]!,
              },
              ++revisions[i]!,
            );
            parents[i] = parent;
          }
        }
        while (created < templates.length) create();

        const projector = templateProjector();
        const schema = `rm_p${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        await projector.createSchema(db.kysely, schema);
        let offset = 0;
        for (let c = 0; offset < events.length; c++) {
          const batch = events.slice(offset, offset + cuts[c % cuts.length]!);
          await db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), batch));
          // A redelivered batch (lost checkpoint) must change nothing.
          if (c % 3 === 0) await db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), batch));
          offset += batch.length;
        }

        const rows = await db.query<{
          template_id: string;
          effective: JsonObject;
          parent_template_id: string | null;
          version: number;
          favorites_count: number;
        }>(`SELECT template_id, effective, parent_template_id, version, favorites_count FROM ${schema}.templates`);
        expect(rows).toHaveLength(templates.length);
        for (const row of rows) {
          const i = ids.indexOf(row.template_id);
          const chain = [...ancestors(i)].reverse().map((j) => contents[j]!);
          expect(row.parent_template_id).toBe(parents[i] === null ? null : ids[parents[i]!]);
          expect(row.version).toBe(versions[i]);
          expect(row.favorites_count).toBe(favorites[i]!.size);
          expect(row.effective).toEqual(JSON.parse(JSON.stringify(effectiveTemplate(chain))));
        }
        const history = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.history`);
        expect(history[0]!.n).toBe(events.filter((e) => e.streamId.startsWith('template-')).length);
        await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      }),
      // #7.12: favorite, unfavorite, favorite again in one batch ended as "not favorite" (all of a batch's
      // favorites were inserted before its deletes). The property found it in about 1 run of 4; this is
      // that case, kept so that it runs every time.
      { numRuns: 40, examples: [[favoriteToggledInOneBatch]] },
    );
  });

  it('walks the ancestors of a parent that the same batch touched without reshaping it', async () => {
    const [root, child, grandchild] = [randomUUID(), randomUUID(), randomUUID()];
    let position = 0n;
    const event = (templateId: string, type: string, data: JsonObject, revision: number): RecordedEvent => ({
      id: randomUUID(),
      type,
      data,
      streamId: `template-${templateId}`,
      revision: BigInt(revision),
      position: { commit: 1n, prepare: ++position },
      metadata: { tenantId: 't', userId: 'u', occurredAt: new Date().toISOString() },
      recordedAt: new Date(),
    });
    const created = (templateId: string, parent: string | null, c: TemplateContent) =>
      event(
        templateId,
        'TemplateCreated',
        {
          ...c,
          templateId,
          ownerTenantId: 't',
          parentTemplateId: parent,
          isSystemTemplate: false,
          status: 'draft',
          version: 1,
        } as unknown as JsonObject,
        0,
      );
    const contents = [
      content('R', { a: 1 }, 'merge', 60),
      content('C', { b: 2 }, 'merge', null),
      content('G', { c: 3 }, 'merge', null),
    ] as const;
    const projector = templateProjector();
    const schema = `rm_p${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await projector.createSchema(db.kysely, schema);
    const apply = (events: RecordedEvent[]) => db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), events));
    await apply([created(root, null, contents[0]), created(child, root, contents[1])]);
    // The child is in this batch (activated), its parent is not; the grandchild is new.
    await apply([event(child, 'TemplateActivated', { from: 'draft' }, 1), created(grandchild, child, contents[2])]);
    const [row] = await db.query<{ effective: JsonObject }>(`SELECT effective FROM ${schema}.templates WHERE template_id = $1`, [
      grandchild,
    ]);
    expect(row!.effective).toMatchObject({ dynamicProperties: { a: 1, b: 2, c: 3 }, defaultDuration: 60 });
  });

  it('applies a batch larger than one statement can carry (65,535 parameters)', async () => {
    const projector = templateProjector();
    const schema = `rm_p${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await projector.createSchema(db.kysely, schema);
    const ids = Array.from({ length: 3000 }, () => randomUUID());
    const events: RecordedEvent[] = ids.map((templateId, i) => ({
      id: randomUUID(),
      type: 'TemplateCreated',
      data: {
        ...content(`Bulk ${i}`, { i }, 'merge', 30),
        templateId,
        ownerTenantId: 't',
        parentTemplateId: i > 0 && i % 2 === 0 ? ids[i - 1]! : null,
        isSystemTemplate: false,
        status: 'draft',
        version: 1,
      } as unknown as JsonObject,
      streamId: `template-${templateId}`,
      revision: 0n,
      position: { commit: 1n, prepare: BigInt(i + 1) },
      metadata: { tenantId: 't', userId: 'u', occurredAt: new Date().toISOString() },
      recordedAt: new Date(),
    }));
    await db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), events));
    const [counted] = await db.query<{ n: number; inherited: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE effective->'dynamicProperties' ? 'i' AND parent_template_id IS NOT NULL)::int AS inherited FROM ${schema}.templates`,
    );
    expect(counted).toEqual({ n: 3000, inherited: 1499 });
    await db.exec(`DROP SCHEMA ${schema} CASCADE`);
  });
});
