// Queries on the template read models. Visibility: the caller's tenant's templates plus public and system
// templates of any tenant. Sort fields come from a fixed map (never from input into SQL).
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { JsonObject } from '../../domain/json.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import { DELETED_STATUS, type TemplateRow, type TemplateTables } from './template-tables.js';
import { isUuid } from '../../domain/uuid.js';
import { searchWords } from '../../domain/templates/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const rm = (db: AnyDb) => (db as Kysely<TemplateTables>).withSchema(liveSchema('templates'));

export interface TemplateView {
  templateId: string;
  ownerTenantId: string;
  name: string;
  description: string | null;
  categoryId: string | null;
  templateType: string;
  status: string;
  parentTemplateId: string | null;
  isPublic: boolean;
  isSystemTemplate: boolean;
  version: number;
  revision: number;
  content: JsonObject;
  effective: JsonObject;
  /** The parent is no longer visible to this template's tenant: `effective` keeps what it inherited until then. */
  parentUnavailable: boolean;
  usageCount: number;
  lastUsedAt: string | null;
  favoritesCount: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

export const templateView = (row: TemplateRow): TemplateView => ({
  templateId: row.template_id,
  ownerTenantId: row.tenant_id,
  name: row.name,
  description: row.description,
  categoryId: row.category_id,
  templateType: row.template_type,
  status: row.status,
  parentTemplateId: row.parent_template_id,
  isPublic: row.is_public,
  isSystemTemplate: row.is_system,
  version: row.version,
  revision: Number(row.revision),
  content: row.content,
  effective: row.effective,
  parentUnavailable: row.parent_unavailable,
  usageCount: row.usage_count,
  lastUsedAt: iso(row.last_used_at),
  favoritesCount: row.favorites_count,
  createdAt: iso(row.created_at)!,
  updatedAt: iso(row.updated_at)!,
  createdBy: row.created_by,
  updatedBy: row.updated_by,
});

/** A template the caller may read: its own tenant's, or public, or system. Others read as missing. */
export async function getVisibleTemplate(db: AnyDb, tenantId: string, templateId: string): Promise<TemplateRow | undefined> {
  if (!isUuid(templateId)) return undefined;
  return rm(db)
    .selectFrom('templates')
    .selectAll()
    .where('template_id', '=', templateId.toLowerCase())
    .where('status', '<>', DELETED_STATUS)
    .where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('is_public', '=', true), eb('is_system', '=', true)]))
    .executeTakeFirst();
}

export const SEARCH_SORTS = ['name', 'created', 'updated', 'usage', 'last_used', 'popularity'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

export interface TemplateSearch {
  readonly statuses: readonly string[];
  readonly categoryIds?: readonly string[];
  readonly templateTypes?: readonly string[];
  readonly skillLevels?: readonly string[];
  readonly keyword?: string;
  /** `type:name`, lower-cased; a template matches when it has every one. */
  readonly tags?: readonly string[];
  readonly priceMin?: number;
  readonly priceMax?: number;
  readonly durationMin?: number;
  readonly durationMax?: number;
  readonly favoritesOnly?: { userId: string };
  readonly popularOnly?: { minUsage: number };
  readonly sort: SearchSort;
  readonly order: 'asc' | 'desc';
  readonly page: number;
  readonly pageSize: number;
}

export type TemplatePage = Page<TemplateView>;

/**
 * The keyword's words (searchWords, as the document was indexed) as a literal prefix tsquery
 * (`'ital':* & 'cook':*`), read by the tsquery type itself, not by to_tsquery's parser. The words hold
 * only letters, marks and digits, so quoting them needs no escapes.
 */
export function keywordQuery(keyword: string): string | undefined {
  const words = searchWords(keyword);
  return words.length === 0
    ? undefined
    : words
        .slice(0, 16)
        .map((word) => `'${word}':*`)
        .join(' & ');
}

export async function searchTemplates(db: AnyDb, tenantId: string, search: TemplateSearch): Promise<TemplatePage> {
  let query = rm(db)
    .selectFrom('templates as t')
    .where((eb) => eb.or([eb('t.tenant_id', '=', tenantId), eb('t.is_public', '=', true), eb('t.is_system', '=', true)]))
    .where('t.status', 'in', [...search.statuses])
    .where('t.status', '<>', DELETED_STATUS);
  if (search.categoryIds?.length) query = query.where('t.category_id', 'in', [...search.categoryIds]);
  if (search.templateTypes?.length) query = query.where('t.template_type', 'in', [...search.templateTypes]);
  if (search.skillLevels?.length) query = query.where('t.skill_level', 'in', [...search.skillLevels]);
  if (search.priceMin !== undefined) query = query.where('t.price_minor', '>=', search.priceMin);
  if (search.priceMax !== undefined) query = query.where('t.price_minor', '<=', search.priceMax);
  if (search.durationMin !== undefined) query = query.where('t.duration', '>=', search.durationMin);
  if (search.durationMax !== undefined) query = query.where('t.duration', '<=', search.durationMax);
  if (search.tags?.length) query = query.where(sql<SqlBool>`t.tag_keys @> ${sql.val([...search.tags])}::text[]`);
  if (search.popularOnly) query = query.where('t.usage_count', '>=', search.popularOnly.minUsage);
  const tsquery = search.keyword ? keywordQuery(search.keyword) : undefined;
  // Same expression as the GIN index, so the index serves it; the query text is a bound parameter.
  // The expression of the templates_search_words index (template-schema.ts).
  if (tsquery) query = query.where(sql<SqlBool>`array_to_tsvector(string_to_array(t.search_text, ' ')) @@ ${tsquery}::tsquery`);
  else if (search.keyword) query = query.where(sql<SqlBool>`false`); // a keyword with no word in it matches nothing
  if (search.favoritesOnly) {
    const { userId } = search.favoritesOnly;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('favorites as f')
          .select('f.template_id')
          .whereRef('f.template_id', '=', 't.template_id')
          .where('f.tenant_id', '=', tenantId)
          .where('f.user_id', '=', userId),
      ),
    );
  }

  const direction = search.order;
  const ordered = (() => {
    switch (search.sort) {
      case 'name':
        return query.orderBy('t.name', direction);
      case 'created':
        return query.orderBy('t.created_at', direction);
      case 'updated':
        return query.orderBy('t.updated_at', direction);
      case 'usage':
        return query.orderBy('t.usage_count', direction);
      case 'last_used':
        // Never-used templates last in either direction.
        return query.orderBy(sql`t.last_used_at ${sql.raw(direction === 'asc' ? 'ASC' : 'DESC')} NULLS LAST`);
      case 'popularity':
        return query.orderBy('t.favorites_count', direction).orderBy('t.usage_count', direction);
    }
  })();
  const [rows, count] = await Promise.all([
    ordered.orderBy('t.template_id').selectAll('t').limit(search.pageSize).offset(pageOffset(search)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(templateView), Number(count.total), search);
}

export interface VersionView {
  version: number;
  content: JsonObject;
  parentTemplateId: string | null;
  eventType: string;
  changedBy: string;
  changedAt: string;
}

export async function templateVersions(db: AnyDb, templateId: string, request: PageRequest): Promise<Page<VersionView>> {
  const versions = rm(db).selectFrom('versions').where('template_id', '=', templateId);
  const [rows, count] = await Promise.all([
    versions.selectAll().orderBy('version').limit(request.pageSize).offset(pageOffset(request)).execute(),
    versions.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  const items = rows.map((row) => ({
    version: row.version,
    content: row.content,
    parentTemplateId: row.parent_template_id,
    eventType: row.event_type,
    changedBy: row.changed_by,
    changedAt: iso(row.changed_at)!,
  }));
  return pageOf(items, Number(count.total), request);
}

export interface HistoryView {
  revision: number;
  eventType: string;
  changes: JsonObject;
  tenantId: string;
  userId: string;
  correlationId: string | null;
  occurredAt: string;
}

/** The audit trail. Entries made by another tenant's users (on a public template) show no user. */
export async function templateHistory(
  db: AnyDb,
  callerTenantId: string,
  templateId: string,
  request: PageRequest,
): Promise<Page<HistoryView>> {
  const history = rm(db).selectFrom('history').where('template_id', '=', templateId);
  const [rows, count] = await Promise.all([
    history.selectAll().orderBy('revision').limit(request.pageSize).offset(pageOffset(request)).execute(),
    history.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  const items = rows.map((row) => ({
    revision: Number(row.revision),
    eventType: row.event_type,
    changes: row.changes,
    tenantId: row.tenant_id === callerTenantId ? row.tenant_id : 'other',
    userId: row.tenant_id === callerTenantId ? row.user_id : 'other',
    correlationId: row.tenant_id === callerTenantId ? row.correlation_id : null,
    occurredAt: iso(row.occurred_at)!,
  }));
  return pageOf(items, Number(count.total), request);
}

export interface UsageStats {
  templateId: string;
  usageCount: number;
  successCount: number;
  lastUsedAt: string | null;
  byDay: { day: string; usageType: string; successCount: number; errorCount: number }[];
}

/** Usage of one template; the day series counts only the caller's tenant's usages unless it owns it. */
export async function templateUsage(db: AnyDb, callerTenantId: string, row: TemplateRow, days: number): Promise<UsageStats> {
  let query = rm(db)
    .selectFrom('usage_days')
    .select([
      'day',
      'usage_type',
      (eb) => eb.fn.sum<number>('success_count').as('success'),
      (eb) => eb.fn.sum<number>('error_count').as('error'),
    ])
    .where('template_id', '=', row.template_id)
    .where('day', '>=', sql<string>`current_date - ${days}::int`)
    .groupBy(['day', 'usage_type'])
    .orderBy('day');
  if (row.tenant_id !== callerTenantId) query = query.where('tenant_id', '=', callerTenantId);
  const series = await query.execute();
  return {
    templateId: row.template_id,
    usageCount: row.usage_count,
    successCount: row.success_count,
    lastUsedAt: iso(row.last_used_at),
    byDay: series.map((s) => ({
      day: dayString(s.day as unknown),
      usageType: s.usage_type,
      successCount: Number(s.success),
      errorCount: Number(s.error),
    })),
  };
}

// pg returns a date column as a Date at local midnight; PGlite as text. Either way: YYYY-MM-DD.
function dayString(value: unknown): string {
  if (value instanceof Date)
    return `${value.getFullYear()}-${String(value.getMonth() + 1).padStart(2, '0')}-${String(value.getDate()).padStart(2, '0')}`;
  return String(value).slice(0, 10);
}

export interface TenantStats {
  templates: number;
  byStatus: Record<string, number>;
  activeCount: number;
  usages: number;
  successfulUsages: number;
  successRate: number | null;
  mostUsed: { templateId: string; name: string; usageCount: number }[];
}

/** The tenant's own templates and its users' usages (of any template it may see). */
export async function tenantTemplateStats(db: AnyDb, tenantId: string): Promise<TenantStats> {
  const [statuses, usage, mostUsed] = await Promise.all([
    rm(db)
      .selectFrom('templates')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('status', '<>', DELETED_STATUS)
      .groupBy('status')
      .execute(),
    rm(db)
      .selectFrom('usage_days')
      .select([(eb) => eb.fn.sum<number>('success_count').as('success'), (eb) => eb.fn.sum<number>('error_count').as('error')])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst(),
    rm(db)
      .selectFrom('usage_days as u')
      .innerJoin('templates as t', 't.template_id', 'u.template_id')
      .select([
        'u.template_id',
        't.name',
        (eb) => eb.fn.sum<number>(eb.ref('u.success_count')).as('success'),
        (eb) => eb.fn.sum<number>(eb.ref('u.error_count')).as('error'),
      ])
      .where('u.tenant_id', '=', tenantId)
      .where('t.status', '<>', DELETED_STATUS)
      // A template that has since become private to another tenant is no longer named here.
      .where((eb) => eb.or([eb('t.tenant_id', '=', tenantId), eb('t.is_public', '=', true), eb('t.is_system', '=', true)]))
      .groupBy(['u.template_id', 't.name'])
      .orderBy(sql`sum(u.success_count) + sum(u.error_count)`, 'desc')
      .orderBy('u.template_id')
      .limit(10)
      .execute(),
  ]);
  const byStatus = Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]));
  const success = Number(usage?.success ?? 0);
  const usages = success + Number(usage?.error ?? 0);
  return {
    templates: Object.values(byStatus).reduce((a, b) => a + b, 0),
    byStatus,
    activeCount: byStatus.active ?? 0,
    usages,
    successfulUsages: success,
    successRate: usages === 0 ? null : Number((success / usages).toFixed(4)),
    mostUsed: mostUsed.map((m) => ({ templateId: m.template_id, name: m.name, usageCount: Number(m.success) + Number(m.error) })),
  };
}

export async function countTenantTemplates(db: AnyDb, tenantId: string): Promise<number> {
  const row = await rm(db)
    .selectFrom('templates')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '<>', DELETED_STATUS)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Levels of a template's subtree counting itself (1 for a leaf), from the read model. */
export async function templateSubtreeDepth(db: AnyDb, templateId: string): Promise<number> {
  const result = await sql<{ depth: number }>`
    WITH RECURSIVE tree(template_id, depth) AS (
      SELECT ${templateId}::uuid, 1
      UNION ALL
      SELECT c.template_id, tree.depth + 1 FROM ${sql.table(`${liveSchema('templates')}.templates`)} c JOIN tree ON c.parent_template_id = tree.template_id WHERE tree.depth < 16)
    SELECT max(depth)::int AS depth FROM tree`.execute(db);
  return Number(result.rows[0]?.depth ?? 1);
}
