// Projects category events into rm_categories.categories. A batch is folded in memory per category first
// (one read of the touched rows, one multi-row upsert), rather than one statement per event.
import type { Kysely } from 'kysely';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { CategoryEvent } from '../../domain/categories/index.js';
import { CATEGORY_CATEGORY } from '../../domain/categories/index.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import type { Projector } from '../projector.js';
import type { CategoryRow, CategoryTables } from './category-tables.js';

type Pending = CategoryRow;

// Two tenants may use one category id (per-tenant streams, domain/tenant-streams.ts): rows are keyed by both.
const rowKey = (tenantId: string, categoryId: string) => `${tenantId}/${categoryId}`;

function apply(categoryId: string, row: Pending | undefined, event: RecordedEvent): Pending | undefined {
  const e = { type: event.type, data: event.data } as CategoryEvent;
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const by = String(event.metadata.userId ?? '');
  const touched = (changes: Partial<Pending>): Pending | undefined =>
    row && { ...row, ...changes, revision: Number(event.revision), updated_at: at, updated_by: by };
  switch (e.type) {
    case 'CategoryCreated':
      return {
        tenant_id: String(event.metadata.tenantId),
        category_id: categoryId,
        name: e.data.name,
        description: e.data.description,
        status: 'active',
        revision: Number(event.revision),
        created_at: at,
        updated_at: at,
        created_by: by,
        updated_by: by,
      };
    case 'CategoryRenamed':
      return touched({ name: e.data.name });
    case 'CategoryDescribed':
      return touched({ description: e.data.description });
    case 'CategoryArchived':
      return touched({ status: 'archived' });
    case 'CategoryRestored':
      return touched({ status: 'active' });
    default:
      return row;
  }
}

export const categoryProjector: Projector = {
  name: 'categories',
  filter: { categories: ['category'] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('categories')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('category_id', 'uuid', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('categories_pk', ['tenant_id', 'category_id'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createIndex('categories_tenant_name')
      .ifNotExists()
      .on('categories')
      .columns(['tenant_id', 'status', 'name'])
      .execute();
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<CategoryTables>;
    const byCategory = new Map<string, { categoryId: string; events: RecordedEvent[] }>();
    for (const event of events) {
      const categoryId = idOfStream(CATEGORY_CATEGORY, event.streamId);
      // A stream of the category family that is not a category (no UUID) would fail the uuid column and
      // stall the projection for good; it carries nothing this model shows.
      if (categoryId === undefined) continue;
      const key = rowKey(String(event.metadata.tenantId), categoryId);
      const group = byCategory.get(key);
      if (group) group.events.push(event);
      else byCategory.set(key, { categoryId, events: [event] });
    }
    if (byCategory.size === 0) return;
    const existing = [];
    const ids = [...new Set([...byCategory.values()].map((group) => group.categoryId))];
    for (const chunk of chunked(ids, rowsPerStatement(1))) {
      existing.push(...(await db.selectFrom('categories').selectAll().where('category_id', 'in', chunk).execute()));
    }
    const rows = new Map<string, Pending>(
      existing.map((row) => [rowKey(row.tenant_id, row.category_id), { ...row, revision: Number(row.revision) }]),
    );
    const changed: Pending[] = [];
    for (const [key, { categoryId, events: streamEvents }] of byCategory) {
      const stored = rows.get(key);
      let row = stored;
      for (const event of streamEvents) {
        // Events already in the row are skipped, so a replayed batch changes nothing (the engine's
        // checkpoint makes that rare; this makes it harmless).
        if (row && Number(event.revision) <= row.revision) continue;
        row = apply(categoryId, row, event);
      }
      if (row && row !== stored) changed.push(row);
    }
    if (changed.length === 0) return;
    // One statement per chunk of the batch (a statement takes at most 65,535 parameters).
    for (const chunk of chunked(changed, rowsPerStatement(10))) {
      await db
        .insertInto('categories')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'category_id']).doUpdateSet({
            name: (eb) => eb.ref('excluded.name'),
            description: (eb) => eb.ref('excluded.description'),
            status: (eb) => eb.ref('excluded.status'),
            revision: (eb) => eb.ref('excluded.revision'),
            updated_at: (eb) => eb.ref('excluded.updated_at'),
            updated_by: (eb) => eb.ref('excluded.updated_by'),
          }),
        )
        .execute();
    }
  },
};
