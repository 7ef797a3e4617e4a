// Tenancy of what the template projector derives: inherited content stops flowing at the moment a parent
// stops being visible to the child's tenant, whatever the batches (#7.1), and a batch that hides a
// template reports every tenant that could see it for cache invalidation (#7.2). The projector and the
// as-of fold implement the rule apart; a property holds them to the same answer.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import type { EventStore, RecordedEvent } from '../../../src/ports/event-store.js';
import type { JsonObject } from '../../../src/domain/json.js';
import { templateAsOf } from '../../../src/projections/templates/template-as-of.js';
import type { TemplateContent } from '../../../src/domain/templates/index.js';
import { templateProjector, type TemplateBatchEffect } from '../../../src/projections/templates/template-projector.js';
import { templateContent } from '../../support/template-content.js';

const content = (name: string, dynamicProperties: JsonObject, isPublic: boolean): TemplateContent =>
  templateContent({ name, dynamicProperties, isPublic });

function eventLog() {
  let position = 0n;
  const revisions = new Map<string, number>();
  const event = (templateId: string, tenantId: string, type: string, data: JsonObject): RecordedEvent => {
    const revision = (revisions.get(templateId) ?? -1) + 1;
    revisions.set(templateId, revision);
    return {
      id: randomUUID(),
      type,
      data,
      streamId: `template-${templateId}`,
      revision: BigInt(revision),
      position: { commit: 1n, prepare: ++position },
      metadata: { tenantId, userId: 'u', occurredAt: new Date().toISOString() },
      recordedAt: new Date(),
    };
  };
  const created = (templateId: string, tenantId: string, parent: string | null, c: TemplateContent) =>
    event(templateId, tenantId, 'TemplateCreated', {
      ...c,
      templateId,
      ownerTenantId: tenantId,
      parentTemplateId: parent,
      isSystemTemplate: false,
      status: 'draft',
      version: 1,
    } as unknown as JsonObject);
  return { event, created };
}

/** Every way to cut `events` into consecutive non-empty batches. */
function* batchings<T>(events: readonly T[]): Generator<T[][]> {
  for (let mask = 0; mask < 2 ** (events.length - 1); mask++) {
    const batches: T[][] = [[events[0]!]];
    for (let i = 1; i < events.length; i++) {
      if (mask & (2 ** (i - 1))) batches.push([events[i]!]);
      else batches.at(-1)!.push(events[i]!);
    }
    yield batches;
  }
}

describe('template projector tenancy', () => {
  let db: SqlDatabase;
  beforeAll(async () => {
    db = await createPgliteDatabase();
  });
  afterAll(async () => db?.close());

  async function project(batches: RecordedEvent[][]) {
    const effects: TemplateBatchEffect[] = [];
    const projector = templateProjector({ afterCommit: async (effect) => void effects.push(effect) });
    const schema = `rm_p${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await projector.createSchema(db.kysely, schema);
    for (const batch of batches) {
      await db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), batch));
      await projector.afterCommit!(batch);
    }
    const rows = await db.query<{ template_id: string; effective: { dynamicProperties: JsonObject }; parent_unavailable: boolean }>(
      `SELECT template_id, effective, parent_unavailable FROM ${schema}.templates`,
    );
    await db.exec(`DROP SCHEMA ${schema} CASCADE`);
    return { rows: new Map(rows.map((row) => [row.template_id, row])), effects };
  }

  it('#7.1 freezes a child at the moment its parent went private to its tenant, however the events are batched', async () => {
    const { event, created } = eventLog();
    const [parent, child, sameTenantChild, lateChild] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const events = [
      created(parent, 'a', null, content('P', { greeting: 'hello' }, true)),
      created(child, 'b', parent, content('C', { own: 1 }, false)),
      event(parent, 'a', 'TemplateUpdated', { changes: { dynamicProperties: { greeting: 'hello', extra: 'public' } }, version: 2 }),
      event(parent, 'a', 'TemplateUpdated', { changes: { isPublic: false }, version: 3 }),
      event(parent, 'a', 'TemplateUpdated', { changes: { dynamicProperties: { apiSecret: 's3cret' } }, version: 4 }),
      created(sameTenantChild, 'a', parent, content('D', {}, false)),
      // Linked after the parent went private (a re-parenting that raced the change): nothing flows.
      created(lateChild, 'b', parent, content('E', { own: 2 }, false)),
    ];
    for (const batches of batchings(events)) {
      const { rows } = await project(batches);
      const cut = batches.map((b) => b.length).join('+');
      expect(rows.get(child), cut).toMatchObject({
        effective: { dynamicProperties: { greeting: 'hello', extra: 'public', own: 1 } },
        parent_unavailable: true,
      });
      expect(rows.get(sameTenantChild), cut).toMatchObject({
        effective: { dynamicProperties: { apiSecret: 's3cret' } },
        parent_unavailable: false,
      });
      expect(rows.get(lateChild), cut).toMatchObject({ effective: { dynamicProperties: { own: 2 } }, parent_unavailable: true });
      expect(rows.get(parent), cut).toMatchObject({ parent_unavailable: false });
    }
  });

  it('#7.1 a grandchild inherits its parent frozen state, and a parent made public again flows again', async () => {
    const { event, created } = eventLog();
    const [parent, child, grandchild] = [randomUUID(), randomUUID(), randomUUID()];
    const hidden = [
      created(parent, 'a', null, content('P', { greeting: 'hello' }, true)),
      created(child, 'b', parent, content('C', { own: 1 }, false)),
      created(grandchild, 'b', child, content('G', { deep: true }, false)),
      event(parent, 'a', 'TemplateUpdated', { changes: { isPublic: false, dynamicProperties: { apiSecret: 's3cret' } }, version: 2 }),
    ];
    const { rows } = await project([hidden]);
    expect(rows.get(grandchild)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'hello', own: 1, deep: true } },
      parent_unavailable: false,
    });
    expect(rows.get(child)).toMatchObject({ parent_unavailable: true });
    const republished = await project([
      hidden,
      [event(parent, 'a', 'TemplateUpdated', { changes: { isPublic: true, dynamicProperties: { greeting: 'back' } }, version: 3 })],
    ]);
    expect(republished.rows.get(grandchild)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'back', own: 1, deep: true } },
      parent_unavailable: false,
    });
    expect(republished.rows.get(child)).toMatchObject({ parent_unavailable: false });
  });

  it('#7.2 a template that goes private invalidates every tenant that could see it, not only its owner', async () => {
    const { event, created } = eventLog();
    const template = randomUUID();
    const { effects } = await project([
      [created(template, 'a', null, content('P', {}, true))],
      [event(template, 'a', 'TemplateUpdated', { changes: { isPublic: false }, version: 2 })],
    ]);
    expect(effects[1]!.templateIds).toContain(template);
    expect(effects[1]!.tenantIds).toContain('*');
  });

  it('#7.1 the as-of fold and the projector agree on every effective template, whatever the tenants, visibility changes and batches', async () => {
    const small = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 });
    const scenario = fc.record({
      templates: fc.array(
        fc.record({ tenant: fc.constantFrom('a', 'b'), isPublic: fc.boolean(), parent: fc.nat(), dynamicProperties: small }),
        { minLength: 2, maxLength: 5 },
      ),
      steps: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('content' as const), index: fc.nat(), dynamicProperties: small }),
          fc.record({
            kind: fc.constant('visibility' as const),
            index: fc.nat(),
            isPublic: fc.boolean(),
            dynamicProperties: fc.option(small, { nil: undefined }),
          }),
          fc.record({ kind: fc.constant('parent' as const), index: fc.nat(), parent: fc.option(fc.nat(), { nil: null }) }),
        ),
        { maxLength: 12 },
      ),
      cuts: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ templates, steps, cuts }) => {
        const { event, created } = eventLog();
        const ids = templates.map(() => randomUUID());
        const parents = templates.map((t, i) => (i === 0 || t.parent % 3 === 0 ? null : t.parent % i));
        const versions = templates.map(() => 1);
        const events = templates.map((t, i) =>
          created(ids[i]!, t.tenant, parents[i] === null ? null : ids[parents[i]!]!, content(`T${i}`, t.dynamicProperties, t.isPublic)),
        );
        const ancestors = (i: number | null): number[] => (i === null ? [] : [i, ...ancestors(parents[i]!)]);
        for (const step of steps) {
          const i = step.index % templates.length;
          const tenant = templates[i]!.tenant;
          if (step.kind === 'content')
            events.push(
              event(ids[i]!, tenant, 'TemplateUpdated', {
                changes: { dynamicProperties: step.dynamicProperties },
                version: ++versions[i]!,
              }),
            );
          else if (step.kind === 'visibility') {
            const changes = { isPublic: step.isPublic, ...(step.dynamicProperties ? { dynamicProperties: step.dynamicProperties } : {}) };
            events.push(event(ids[i]!, tenant, 'TemplateUpdated', { changes, version: ++versions[i]! }));
          } else {
            const parent = step.parent === null ? null : step.parent % templates.length;
            if (parent !== null && ancestors(parent).includes(i)) continue;
            events.push(
              event(ids[i]!, tenant, 'TemplateParentChanged', {
                parentTemplateId: parent === null ? null : ids[parent]!,
                previousParentTemplateId: parents[i] === null ? null : ids[parents[i]!]!,
                version: ++versions[i]!,
              }),
            );
            parents[i] = parent;
          }
        }
        const batches: RecordedEvent[][] = [];
        for (let offset = 0, c = 0; offset < events.length; c++) {
          batches.push(events.slice(offset, offset + cuts[c % cuts.length]!));
          offset += batches.at(-1)!.length;
        }
        const { rows } = await project(batches);
        const eventStore = {
          readStream: async (streamId: string) => events.filter((e) => e.streamId === streamId),
        } as unknown as EventStore;
        for (const [i, id] of ids.entries()) {
          const asOf = await templateAsOf({ eventStore }, templates[i]!.tenant, id, new Date(Date.now() + 60_000));
          const row = rows.get(id)!;
          expect({ effective: JSON.parse(JSON.stringify(asOf.effective)), parentUnavailable: asOf.parentUnavailable }).toEqual({
            effective: row.effective,
            parentUnavailable: row.parent_unavailable,
          });
        }
      }),
      { numRuns: 60 },
    );
  });
});
