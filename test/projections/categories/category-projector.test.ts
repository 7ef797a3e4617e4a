// The categories read model on PGlite: the projector applied directly inside a transaction, the queries
// on its rows, and once end to end through the commands and the projection engine.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { archiveCategory, createCategory, renameCategory } from '../../../src/commands/categories/index.js';
import type { CategoryEvent } from '../../../src/domain/categories/index.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import { categoryProjector } from '../../../src/projections/categories/category-projector.js';
import { getCategory, listCategories } from '../../../src/projections/categories/category-queries.js';
import { createProjectionEngine } from '../../../src/projections/projection-engine.js';
import { liveSchema } from '../../../src/projections/projector.js';

const SCHEMA = liveSchema('categories');
let sequence = 0n;

/** Events of one category stream as the store would record them, revisions counting from `from`. */
function recorded(
  categoryId: string,
  events: CategoryEvent[],
  options: { tenantId?: string; from?: number; userId?: string; at?: string } = {},
): RecordedEvent[] {
  return events.map((event, index) => ({
    id: randomUUID(),
    type: event.type,
    data: event.data,
    streamId: `category-${categoryId}`,
    revision: BigInt((options.from ?? 0) + index),
    position: { commit: 1n, prepare: ++sequence },
    metadata: {
      tenantId: options.tenantId ?? 'tenant-a',
      userId: options.userId ?? 'alice',
      occurredAt: options.at ?? '2026-01-01T10:00:00.000Z',
    },
    recordedAt: new Date(),
  }));
}

const createdAs = (categoryId: string, name: string, description = ''): CategoryEvent => ({
  type: 'CategoryCreated',
  data: { categoryId, name, description },
});

describe('category projector on PGlite', () => {
  let db: SqlDatabase;
  const applyInTransaction = (events: readonly RecordedEvent[], schema = SCHEMA) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the projector's own contract
    db.kysely.transaction().execute((trx) => categoryProjector.apply((trx as Kysely<any>).withSchema(schema), events));

  beforeAll(async () => {
    db = await createPgliteDatabase();
    await categoryProjector.createSchema(db.kysely, SCHEMA);
  });
  afterAll(async () => db?.close());

  it('creates its tables inside the schema it is given, repeatably', async () => {
    await categoryProjector.createSchema(db.kysely, 'rm_categories__elsewhere');
    await categoryProjector.createSchema(db.kysely, 'rm_categories__elsewhere');
    const tables = await db.query<{ table_schema: string }>(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = 'categories' ORDER BY 1`,
    );
    expect(tables.map((t) => t.table_schema)).toEqual(['rm_categories', 'rm_categories__elsewhere']);
    const id = randomUUID();
    await applyInTransaction(recorded(id, [createdAs(id, 'Elsewhere')]), 'rm_categories__elsewhere');
    expect(await getCategory(db.kysely, 'tenant-a', id)).toBeUndefined(); // queries read the live schema only
  });

  it('folds a batch into one row per category, with who and when', async () => {
    const id = randomUUID();
    await applyInTransaction([
      ...recorded(id, [createdAs(id, 'Maths', 'Numbers')], { userId: 'alice', at: '2026-01-01T10:00:00.000Z' }),
      ...recorded(
        id,
        [
          { type: 'CategoryRenamed', data: { name: 'Algebra', previousName: 'Maths' } },
          { type: 'CategoryDescribed', data: { description: 'Letters' } },
        ],
        {
          from: 1,
          userId: 'bob',
          at: '2026-01-02T11:00:00.000Z',
        },
      ),
    ]);
    expect(await getCategory(db.kysely, 'tenant-a', id)).toEqual({
      categoryId: id,
      name: 'Algebra',
      description: 'Letters',
      status: 'active',
      revision: 2,
      createdAt: '2026-01-01T10:00:00.000Z',
      updatedAt: '2026-01-02T11:00:00.000Z',
      createdBy: 'alice',
      updatedBy: 'bob',
    });

    await applyInTransaction(recorded(id, [{ type: 'CategoryArchived', data: { name: 'Algebra' } }], { from: 3, userId: 'carol' }));
    expect(await getCategory(db.kysely, 'tenant-a', id)).toMatchObject({
      status: 'archived',
      revision: 3,
      updatedBy: 'carol',
      createdBy: 'alice',
    });
    await applyInTransaction(recorded(id, [{ type: 'CategoryRestored', data: { name: 'Algebra' } }], { from: 4 }));
    expect(await getCategory(db.kysely, 'tenant-a', id)).toMatchObject({ status: 'active', revision: 4 });
  });

  it('changes nothing when a batch is applied again', async () => {
    const id = randomUUID();
    const first = recorded(id, [createdAs(id, 'Once'), { type: 'CategoryRenamed', data: { name: 'Twice', previousName: 'Once' } }]);
    await applyInTransaction(first);
    await applyInTransaction(recorded(id, [{ type: 'CategoryDescribed', data: { description: 'later' } }], { from: 2, userId: 'bob' }));
    const before = await getCategory(db.kysely, 'tenant-a', id);
    await applyInTransaction(first);
    expect(await getCategory(db.kysely, 'tenant-a', id)).toEqual(before);
    expect(before).toMatchObject({ name: 'Twice', description: 'later', revision: 2 });
  });

  it('writes nothing of a batch whose transaction rolls back', async () => {
    const id = randomUUID();
    const failed = db.kysely.transaction().execute(async (trx) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
      await categoryProjector.apply((trx as Kysely<any>).withSchema(SCHEMA), recorded(id, [createdAs(id, 'Doomed')]));
      throw new Error('checkpoint moved');
    });
    await expect(failed).rejects.toThrow('checkpoint moved');
    expect(await getCategory(db.kysely, 'tenant-a', id)).toBeUndefined();
  });

  it('skips streams of the family that are not categories rather than stalling on them', async () => {
    const id = randomUUID();
    const odd = { ...recorded(id, [createdAs('x', 'Odd')])[0]!, streamId: 'category-not-a-uuid' };
    await applyInTransaction([odd, ...recorded(id, [createdAs(id, 'Fine')])]);
    expect(await getCategory(db.kysely, 'tenant-a', id)).toMatchObject({ name: 'Fine' });
    expect(await getCategory(db.kysely, 'tenant-a', 'not-a-uuid')).toBeUndefined();
  });

  it('lists a tenant’s categories by status and name substring, paged, with the total', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const names = ['Alpha', 'beta', 'Gamma', '100% Cotton', 'under_score', 'Alphabet'];
    const ids = names.map(() => randomUUID());
    await applyInTransaction(ids.flatMap((id, i) => recorded(id, [createdAs(id, names[i]!)], { tenantId })));
    await applyInTransaction(recorded(ids[2]!, [{ type: 'CategoryArchived', data: { name: 'Gamma' } }], { tenantId, from: 1 }));
    const other = randomUUID();
    await applyInTransaction(recorded(other, [createdAs(other, 'Alpha')], { tenantId: 'someone-else' }));

    const list = (filter: Partial<Parameters<typeof listCategories>[2]> = {}) =>
      listCategories(db.kysely, tenantId, { page: 1, pageSize: 50, ...filter });
    const namesOf = async (filter: Partial<Parameters<typeof listCategories>[2]> = {}) => (await list(filter)).items.map((c) => c.name);

    expect((await list()).total).toBe(6);
    expect(await namesOf({ status: 'archived' })).toEqual(['Gamma']);
    expect((await list({ status: 'active' })).total).toBe(5);
    expect((await namesOf({ q: 'ALPHA' })).sort()).toEqual(['Alpha', 'Alphabet']);
    expect(await namesOf({ q: '%' })).toEqual(['100% Cotton']); // wildcards match literally
    expect(await namesOf({ q: '_' })).toEqual(['under_score']);
    const page = await list({ page: 2, pageSize: 2 });
    expect(page.items).toHaveLength(2);
    expect(page).toMatchObject({ total: 6, page: 2, pageSize: 2, pages: 3, hasNext: true, hasPrevious: true });
    const all = (await list()).items.map((c) => c.categoryId);
    expect(page.items.map((c) => c.categoryId)).toEqual(all.slice(2, 4));
    expect(await getCategory(db.kysely, tenantId, other)).toBeUndefined(); // another tenant's row
  });
});

describe('category read model through the projection engine on PGlite', () => {
  let db: SqlDatabase;
  beforeAll(async () => {
    db = await createPgliteDatabase();
    await migrateEventStore(db);
  });
  afterAll(async () => db?.close());

  it('shows what the commands wrote, once the engine reaches the command’s position, and after a rebuild', async () => {
    const eventStore = createPostgresEventStore(db, { pollIntervalMs: 20 });
    const engine = createProjectionEngine({ db, eventStore, projectors: [categoryProjector], batchSize: 3 });
    const deps = { eventStore, clock: () => new Date('2026-05-05T05:05:05.000Z') };
    const context = () => ({ tenantId: 'tenant-a', userId: 'dana', commandId: randomUUID(), correlationId: randomUUID() });
    const [a, b] = [randomUUID(), randomUUID()];
    await engine.start();
    try {
      await createCategory(deps, context(), { categoryId: a, name: 'Statistics', description: '' });
      await createCategory(deps, context(), { categoryId: b, name: 'Logic', description: 'Reasoning' });
      await renameCategory(deps, context(), { categoryId: a, name: 'Probability' });
      const last = await archiveCategory(deps, context(), { categoryId: b });
      await engine.waitFor(last.position, { timeoutMs: 15_000, projections: ['categories'] });

      const expected = {
        items: [
          expect.objectContaining({ categoryId: b, name: 'Logic', status: 'archived', revision: 1 }),
          expect.objectContaining({
            categoryId: a,
            name: 'Probability',
            status: 'active',
            revision: 1,
            createdBy: 'dana',
            updatedAt: '2026-05-05T05:05:05.000Z',
          }),
        ],
        total: 2,
        page: 1,
        pageSize: 10,
        pages: 1,
        hasNext: false,
        hasPrevious: false,
      };
      expect(await listCategories(db.kysely, 'tenant-a', { page: 1, pageSize: 10 })).toEqual(expected);

      await engine.rebuild('categories');
      expect(await listCategories(db.kysely, 'tenant-a', { page: 1, pageSize: 10 })).toEqual(expected);
      const [{ n }] = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM rm_categories.categories`.execute(db.kysely)).rows as [
        { n: number },
      ];
      expect(n).toBe(2);
    } finally {
      await engine.stop();
      await eventStore.close();
    }
  });
});
