// Projects category events into rm_categories.categories. Events of one batch are folded in memory per
// category first, so a batch costs one upsert per touched category rather than one per event.
import type { Kysely } from 'kysely';
import type { RecordedEvent } from '../../domain/event-store.js';
import type { CategoryEvent } from '../../domain/categories/index.js';
import type { Projector } from '../projector.js';
import type { CategoryRow, CategoryTables } from './category-tables.js';

type Pending = CategoryRow;

function apply(row: Pending | undefined, event: RecordedEvent): Pending | undefined {
  const e = { type: event.type, data: event.data } as CategoryEvent;
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const by = String(event.metadata.userId ?? '');
  const touched = (changes: Partial<Pending>): Pending | undefined =>
    row && { ...row, ...changes, revision: Number(event.revision), updated_at: at, updated_by: by };
  switch (e.type) {
    case 'CategoryCreated':
      return {
        tenant_id: String(event.metadata.tenantId),
        category_id: e.data.categoryId,
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
    await db.schema.withSchema(schema).createIndex('categories_tenant_name').ifNotExists().on('categories').columns(['tenant_id', 'status', 'name']).execute();
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<CategoryTables>;
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    const ids = [...byStream.keys()].map((streamId) => streamId.slice('category-'.length));
    const existing = ids.length === 0 ? [] : await db.selectFrom('categories').selectAll().where('category_id', 'in', ids).execute();
    const rows = new Map<string, Pending>(existing.map((row) => [`category-${row.category_id}`, row]));
    for (const [streamId, streamEvents] of byStream) {
      let row = rows.get(streamId);
      for (const event of streamEvents) {
        // Events at or below the stored revision are already in the row (never the case with the engine's
        // checkpoint, but cheap insurance for a replay).
        if (row && Number(event.revision) <= row.revision && event.type !== 'CategoryCreated') continue;
        row = apply(row, event);
      }
      if (row) rows.set(streamId, row);
    }
    const changed = [...byStream.keys()].map((id) => rows.get(id)).filter((row): row is Pending => row !== undefined);
    if (changed.length === 0) return;
    await db
      .insertInto('categories')
      .values(changed)
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
  },
};
