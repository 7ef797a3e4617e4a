// Queries on the deployments read model. Every query filters on the caller's tenant.
import type { Kysely } from 'kysely';
import { configNamesOf, type ExistingDeployment, type ReleaseRecord } from '../../domain/deployments/index.js';
import { isUuid } from '../../domain/uuid.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { DeploymentRow, DeploymentTables } from './deployment-tables.js';
import type { DeploymentMeta } from './deployment-view.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const tables = (db: AnyDb) => (db as Kysely<DeploymentTables>).withSchema(liveSchema('deployments'));
const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

export interface StoredDeployment {
  readonly state: ExistingDeployment;
  readonly meta: DeploymentMeta;
}

const stored = (row: DeploymentRow): StoredDeployment => ({
  state: json<ExistingDeployment>(row.state),
  meta: {
    revision: Number(row.revision),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    createdBy: row.created_by,
    updatedBy: row.updated_by,
  },
});

export async function getDeployment(db: AnyDb, tenantId: string, deploymentId: string): Promise<StoredDeployment | undefined> {
  if (!isUuid(deploymentId)) return undefined;
  const row = await tables(db)
    .selectFrom('deployments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('deployment_id', '=', deploymentId.toLowerCase())
    .executeTakeFirst();
  return row && row.status !== 'deleted' ? stored(row) : undefined;
}

export async function listDeployments(
  db: AnyDb,
  tenantId: string,
  filter: { environmentId?: string; status?: string; applicationId?: string } & PageRequest,
): Promise<Page<StoredDeployment>> {
  let query = tables(db).selectFrom('deployments').where('tenant_id', '=', tenantId).where('status', '!=', 'deleted');
  if (filter.environmentId) query = query.where('environment_id', '=', filter.environmentId);
  if (filter.applicationId) query = query.where('application_id', '=', filter.applicationId);
  if (filter.status) query = query.where('status', '=', filter.status);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('deployment_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(stored), Number(count.total), filter);
}

export type ReleaseView = Omit<ReleaseRecord, 'services' | 'changes'> & {
  services: ReleaseRecord['services'];
  changes: string[];
  createdBy: string;
  createdAt: string;
};

export async function listReleases(db: AnyDb, tenantId: string, deploymentId: string): Promise<ReleaseView[]> {
  const rows = await tables(db)
    .selectFrom('releases')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('deployment_id', '=', deploymentId.toLowerCase())
    .orderBy('release')
    .execute();
  return rows.map((row) => ({
    release: row.release,
    version: row.version,
    kind: row.kind as ReleaseRecord['kind'],
    automatic: row.automatic,
    rollbackTo: row.rollback_to,
    reason: row.reason,
    changes: json<string[]>(row.changes),
    services: json<ReleaseRecord['services']>(row.services),
    outcome: row.outcome as ReleaseRecord['outcome'],
    failure: row.failure,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  }));
}

/** Deployments of the environment that hold or are taking resources: running, deploying, degraded. */
export async function countActiveDeployments(db: AnyDb, tenantId: string, environmentId: string): Promise<number> {
  const row = await tables(db)
    .selectFrom('deployments')
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .where('tenant_id', '=', tenantId)
    .where('environment_id', '=', environmentId)
    .where('status', 'in', ['running', 'deploying', 'degraded', 'rolled_back'])
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export async function deploymentsUsingConfig(db: AnyDb, tenantId: string, environmentId: string | null, name: string) {
  let query = tables(db)
    .selectFrom('deployments')
    .select(['state'])
    .where('tenant_id', '=', tenantId)
    .where('status', 'not in', ['deleted', 'stopped']);
  if (environmentId !== null) query = query.where('environment_id', '=', environmentId);
  const rows = await query.execute();
  return rows.flatMap((row) => {
    const state = json<ExistingDeployment>(row.state);
    const services = Object.values(state.live)
      .filter((live) => configNamesOf(live.spec).includes(name))
      .map((live) => live.spec.name);
    return services.length > 0 ? [{ deploymentId: state.deploymentId, services }] : [];
  });
}

/** Deployments by status, all tenants together (the metric carries no tenant label). */
export async function countByStatus(db: AnyDb): Promise<Map<string, number>> {
  const rows = await tables(db)
    .selectFrom('deployments')
    .select(['status', (eb) => eb.fn.countAll<number>().as('total')])
    .groupBy('status')
    .execute();
  return new Map(rows.map((row) => [row.status, Number(row.total)]));
}

/** Every deployment of an environment, deleted ones too (an environment's teardown waits for their removal). */
export async function deploymentIdsIn(db: AnyDb, tenantId: string, environmentId: string): Promise<string[]> {
  const rows = await tables(db)
    .selectFrom('deployments')
    .select(['deployment_id'])
    .where('tenant_id', '=', tenantId)
    .where('environment_id', '=', environmentId)
    .execute();
  return rows.map((row) => row.deployment_id);
}
