// Persisting the template read models inside the projector's transaction: the reads a batch needs (its
// rows, the stored subtree below them) and the writes of what the fold and the effective recompute
// changed. PostgreSQL's wire protocol caps a statement at 65,535 parameters, so every multi-row statement
// and every `IN (…)` list is cut into chunks (chunks.ts).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { chunked, rowsPerStatement } from '../chunks.js';
import type { FavoriteChange, TemplateFold } from './template-fold.js';
import type { TemplateRow, TemplateTables } from './template-tables.js';

/** jsonb values go to the driver as JSON text: kysely would send a JS array/object as a Postgres array/record. */
const jsonb = <T>(value: T) => sql<T>`${JSON.stringify(value)}`;

/** Adds to `into` the stored rows of `ids` it does not hold yet. */
export async function loadTemplateRows(db: Kysely<TemplateTables>, ids: readonly string[], into: Map<string, TemplateRow>): Promise<void> {
  const missing = ids.filter((id) => !into.has(id));
  const rows = [];
  for (const chunk of chunked(missing, rowsPerStatement(1)))
    rows.push(...(await db.selectFrom('templates').selectAll().where('template_id', 'in', chunk).execute()));
  // bigint columns come back as strings.
  for (const row of rows)
    into.set(row.template_id, {
      ...row,
      revision: Number(row.revision),
      price_minor: row.price_minor === null ? null : Number(row.price_minor),
    });
}

/** The stored templates below `roots` (the roots included), by the parent links in the table. */
export async function loadStoredDescendantIds(db: Kysely<TemplateTables>, roots: readonly string[]): Promise<string[]> {
  // The query builder (not raw SQL) so that the transaction's withSchema reaches the table names and a
  // rebuild reads its own tables; the CTE name is left alone by it. The depth bound ends a cycle that two
  // concurrent re-parentings might have closed.
  const rows = await db
    .withRecursive('tree(template_id, depth)', (qb) =>
      qb
        .selectFrom('templates')
        .select(['template_id', sql<number>`0`.as('depth')])
        .where('template_id', 'in', [...roots])
        .union((u) =>
          u
            .selectFrom('templates as c')
            .innerJoin('tree', 'tree.template_id', 'c.parent_template_id')
            .select(['c.template_id', sql<number>`tree.depth + 1`.as('depth')])
            .where('tree.depth', '<', 64),
        ),
    )
    .selectFrom('tree')
    .select('template_id')
    .distinct()
    .execute();
  return rows.map((row) => row.template_id);
}

const NON_KEY_COLUMNS = [
  'tenant_id',
  'is_public',
  'is_system',
  'name',
  'description',
  'category_id',
  'template_type',
  'status',
  'parent_template_id',
  'content',
  'effective',
  'inherited',
  'parent_unavailable',
  'skill_level',
  'price_minor',
  'currency',
  'duration',
  'tag_keys',
  'search_text',
  'version',
  'revision',
  'usage_count',
  'success_count',
  'last_used_at',
  'favorites_count',
  'updated_at',
  'updated_by',
] as const satisfies readonly (keyof TemplateRow)[];

type NonKeyColumn = (typeof NON_KEY_COLUMNS)[number];

type Proposed = { [C in NonKeyColumn]?: RawBuilder<TemplateRow[C]> };
const withProposed = <C extends NonKeyColumn>(set: Proposed, column: C): Proposed => ({
  ...set,
  [column]: sql.ref<TemplateRow[C]>(`excluded.${column}`),
});
/** ON CONFLICT: every column but the key takes the value the insert proposed. */
const PROPOSED_VALUES = NON_KEY_COLUMNS.reduce<Proposed>(withProposed, {});

const templateValues = (row: TemplateRow) => ({
  ...row,
  content: jsonb(row.content),
  effective: jsonb(row.effective),
  inherited: row.inherited === null ? null : jsonb(row.inherited),
});

export async function upsertTemplates(db: Kysely<TemplateTables>, rows: readonly TemplateRow[]): Promise<void> {
  for (const chunk of chunked(rows, rowsPerStatement(NON_KEY_COLUMNS.length + 3))) {
    await db
      .insertInto('templates')
      .values(chunk.map(templateValues))
      .onConflict((oc) => oc.column('template_id').doUpdateSet(PROPOSED_VALUES))
      .execute();
  }
}

/** A favorite removed and favorited again in one batch is a new favorite (its time is the last one's). */
async function writeFavorite(db: Kysely<TemplateTables>, { row, favorited, removedInBatch }: FavoriteChange): Promise<void> {
  if (!favorited || removedInBatch) {
    await db
      .deleteFrom('favorites')
      .where('tenant_id', '=', row.tenant_id)
      .where('user_id', '=', row.user_id)
      .where('template_id', '=', row.template_id)
      .execute();
  }
  if (favorited)
    await db
      .insertInto('favorites')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .execute();
}

/** Counted from the table, so a favorite repeated or removed twice can never skew the count. */
async function recountFavorites(db: Kysely<TemplateTables>, templateIds: readonly string[]): Promise<void> {
  for (const chunk of chunked(templateIds, rowsPerStatement(1))) {
    await db
      .updateTable('templates')
      .set((eb) => ({
        favorites_count: eb
          .selectFrom('favorites')
          .select((f) => f.fn.countAll<number>().as('n'))
          .whereRef('favorites.template_id', '=', 'templates.template_id'),
      }))
      .where('template_id', 'in', chunk)
      .execute();
  }
}

/** Everything of a fold but the template rows: versions, audit trail, favorites and usage by day. */
export async function writeFoldSideTables(db: Kysely<TemplateTables>, fold: TemplateFold): Promise<void> {
  for (const chunk of chunked(fold.versions, rowsPerStatement(7))) {
    await db
      .insertInto('versions')
      .values(chunk.map((v) => ({ ...v, content: jsonb(v.content) })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  for (const chunk of chunked(fold.history, rowsPerStatement(8))) {
    await db
      .insertInto('history')
      .values(chunk.map((h) => ({ ...h, changes: jsonb(h.changes) })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  for (const change of fold.favorites.values()) await writeFavorite(db, change);
  await recountFavorites(db, [...new Set([...fold.favorites.values()].map((f) => f.row.template_id))]);
  for (const chunk of chunked([...fold.usage.values()], rowsPerStatement(6))) {
    await db
      .insertInto('usage_days')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['template_id', 'tenant_id', 'day', 'usage_type']).doUpdateSet({
          success_count: sql`usage_days.success_count + excluded.success_count`,
          error_count: sql`usage_days.error_count + excluded.error_count`,
        }),
      )
      .execute();
  }
}
