// Queries on the environments read models; every query filters on the caller's tenant. A secret's values
// are shown as MASK (the rows never hold them).
import type { Kysely } from 'kysely';
import { isUuid } from '../../domain/uuid.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { ConfigRow, ConfigTemplateRow, ConfigVersionRow, EnvironmentRow, EnvironmentTables } from './environment-tables.js';

export const MASK = '********';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const models = (db: AnyDb) => (db as Kysely<EnvironmentTables>).withSchema(liveSchema('environments'));
const iso = (d: Date) => new Date(d).toISOString();
const audit = (row: Pick<EnvironmentRow, 'revision' | 'created_at' | 'updated_at' | 'created_by' | 'updated_by'>) => ({
  revision: Number(row.revision),
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  createdBy: row.created_by,
  updatedBy: row.updated_by,
});
/** LIKE wildcards in the input match literally; the pattern is a bound parameter. */
const contains = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const environmentView = (row: EnvironmentRow) => ({
  environmentId: row.environment_id,
  name: row.name,
  type: row.type,
  orchestrator: row.orchestrator,
  target: row.target,
  status: row.status,
  ...(row.reason ? { reason: row.reason } : {}),
  flags: row.flags,
  quotas: row.quotas,
  networking: row.networking,
  security: row.security,
  ...audit(row),
});
export type EnvironmentListItem = ReturnType<typeof environmentView>;

export const maskedData = (type: string, keys: readonly string[], data: Record<string, string> | null) =>
  type === 'secret' || !data ? Object.fromEntries(keys.map((k) => [k, MASK])) : data;

export const configView = (row: ConfigRow) => ({
  configId: row.config_id,
  name: row.name,
  environmentId: row.environment_id,
  type: row.type,
  version: row.version,
  rollServices: row.roll_services,
  keys: row.keys,
  data: maskedData(row.type, row.keys, row.data),
  ...audit(row),
});

export const templateView = (row: ConfigTemplateRow) => ({
  templateId: row.template_id,
  name: row.name,
  description: row.description,
  configType: row.config_type,
  variables: row.variables,
  // A secret template's values are never in the read model (only its keys); masked like a secret config's.
  data: maskedData(row.config_type, Object.keys(row.data), row.data),
  ...audit(row),
});

export async function getEnvironment(db: AnyDb, tenantId: string, environmentId: string) {
  if (!isUuid(environmentId)) return undefined;
  const row = await models(db)
    .selectFrom('environments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('environment_id', '=', environmentId.toLowerCase())
    .executeTakeFirst();
  return row && environmentView(row);
}

export async function listEnvironments(
  db: AnyDb,
  tenantId: string,
  filter: { type?: string; orchestrator?: string; status?: string; q?: string } & PageRequest,
): Promise<Page<EnvironmentListItem>> {
  let query = models(db).selectFrom('environments').where('tenant_id', '=', tenantId);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.orchestrator) query = query.where('orchestrator', '=', filter.orchestrator);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.q) query = query.where('name', 'ilike', contains(filter.q));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('environment_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(environmentView), Number(count.total), filter);
}

export async function getConfig(db: AnyDb, tenantId: string, configId: string) {
  if (!isUuid(configId)) return undefined;
  const row = await models(db)
    .selectFrom('configs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('config_id', '=', configId.toLowerCase())
    .executeTakeFirst();
  return row && configView(row);
}

export async function listConfigs(
  db: AnyDb,
  tenantId: string,
  filter: { environmentId?: string; scope?: 'tenant' | 'environment'; type?: string; q?: string } & PageRequest,
) {
  let query = models(db).selectFrom('configs').where('tenant_id', '=', tenantId);
  if (filter.environmentId) query = query.where('environment_id', '=', filter.environmentId.toLowerCase());
  if (filter.scope === 'tenant') query = query.where('environment_id', 'is', null);
  if (filter.scope === 'environment') query = query.where('environment_id', 'is not', null);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.q) query = query.where('name', 'ilike', contains(filter.q));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('config_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(configView), Number(count.total), filter);
}

export async function listConfigVersions(db: AnyDb, tenantId: string, configId: string, type: string, page: PageRequest) {
  const query = models(db).selectFrom('config_versions').where('tenant_id', '=', tenantId).where('config_id', '=', configId.toLowerCase());
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('version', 'desc').limit(page.pageSize).offset(pageOffset(page)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  const view = (row: ConfigVersionRow) => ({
    version: row.version,
    rollServices: row.roll_services,
    keys: row.keys,
    data: maskedData(type, row.keys, row.data),
    createdAt: iso(row.created_at),
    createdBy: row.created_by,
  });
  return pageOf(rows.map(view), Number(count.total), page);
}

export async function getConfigTemplate(db: AnyDb, tenantId: string, templateId: string) {
  if (!isUuid(templateId)) return undefined;
  const row = await models(db)
    .selectFrom('config_templates')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('template_id', '=', templateId.toLowerCase())
    .executeTakeFirst();
  return row && templateView(row);
}

export async function listConfigTemplates(db: AnyDb, tenantId: string, filter: { configType?: string; q?: string } & PageRequest) {
  let query = models(db).selectFrom('config_templates').where('tenant_id', '=', tenantId);
  if (filter.configType) query = query.where('config_type', '=', filter.configType);
  if (filter.q) query = query.where('name', 'ilike', contains(filter.q));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('template_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(templateView), Number(count.total), filter);
}
