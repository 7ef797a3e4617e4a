// Queries on the categories read model. Every query filters on the caller's tenant.
import type { Kysely } from 'kysely';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { CategoryRow, CategoryTables } from './category-tables.js';
import { isUuid } from '../../domain/uuid.js';

export interface CategoryView {
  categoryId: string;
  name: string;
  description: string;
  status: 'active' | 'archived';
  revision: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
const categories = (db: Kysely<any>) => (db as Kysely<CategoryTables>).withSchema(liveSchema('categories'));

const view = (row: CategoryRow): CategoryView => ({
  categoryId: row.category_id,
  name: row.name,
  description: row.description,
  status: row.status,
  revision: Number(row.revision),
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
  createdBy: row.created_by,
  updatedBy: row.updated_by,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function getCategory(db: Kysely<any>, tenantId: string, categoryId: string): Promise<CategoryView | undefined> {
  if (!isUuid(categoryId)) return undefined; // no such row; the uuid column would reject it with an error
  const row = await categories(db)
    .selectFrom('categories')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('category_id', '=', categoryId)
    .executeTakeFirst();
  return row && view(row);
}

export async function listCategories(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  db: Kysely<any>,
  tenantId: string,
  filter: { status?: 'active' | 'archived'; q?: string } & PageRequest,
): Promise<Page<CategoryView>> {
  let query = categories(db).selectFrom('categories').where('tenant_id', '=', tenantId);
  if (filter.status) query = query.where('status', '=', filter.status);
  // The pattern is a bound parameter; LIKE wildcards in the input are escaped so they match literally.
  if (filter.q) query = query.where('name', 'ilike', `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('category_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(view), Number(count.total), filter);
}
