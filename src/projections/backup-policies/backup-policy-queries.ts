// Queries on the backup policies read model, joined where useful with the backups read model (the policy's
// last backup, its last successful drill, the backups retention weighs). Every query filters on the tenant.
import type { Kysely } from 'kysely';
import type { BackupSchedule, RetainedBackup } from '../../domain/backup-policies/index.js';
import { backupScopeView, type BackupScopeView } from '../../domain/backups/index.js';
import { isUuid } from '../../domain/uuid.js';
import type { BackupTables } from '../backups/backup-tables.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { BackupPolicyRow, BackupPolicyTables } from './backup-policy-tables.js';

export interface BackupPolicyView {
  policyId: string;
  name: string;
  description: string;
  type: string;
  scope: BackupScopeView;
  schedule: BackupSchedule;
  retention: { days: number; minCount: number };
  incremental: boolean;
  drillAfterBackup: boolean;
  enabled: boolean;
  nextRunAt: string | null;
  lastRun: { at: string; trigger: string; backupId: string; status: string | null } | null;
  lastBackupId: string | null;
  lastSkippedSlot: string | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

export interface BackupPolicyDetail extends BackupPolicyView {
  /** The newest restore drill that passed on one of the policy's backups, when the backups read model has one. */
  lastSuccessfulDrill: { backupId: string; drillId: string; finishedAt: string } | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const policies = (db: AnyDb) => (db as Kysely<BackupPolicyTables>).withSchema(liveSchema('backup_policies'));
const backups = (db: AnyDb) => (db as Kysely<BackupTables>).withSchema(liveSchema('backups'));
const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

const view = (row: BackupPolicyRow, lastStatus: string | null): BackupPolicyView => ({
  policyId: row.policy_id,
  name: row.name,
  description: row.description,
  type: row.backup_type,
  scope: backupScopeView(row.scope_tenant_id),
  schedule: JSON.parse(row.schedule) as BackupSchedule,
  retention: { days: Number(row.retention_days), minCount: Number(row.retention_min_count) },
  incremental: row.incremental,
  drillAfterBackup: row.drill_after_backup,
  enabled: row.enabled,
  nextRunAt: iso(row.next_run_at),
  lastRun:
    row.last_run_at && row.last_backup_id
      ? { at: iso(row.last_run_at)!, trigger: row.last_run_trigger ?? 'schedule', backupId: row.last_backup_id, status: lastStatus }
      : null,
  lastBackupId: row.last_backup_id,
  lastSkippedSlot: iso(row.last_skipped_slot),
  revision: Number(row.revision),
  createdAt: iso(row.created_at)!,
  updatedAt: iso(row.updated_at)!,
  createdBy: row.created_by,
  updatedBy: row.updated_by,
});

async function statusesOf(db: AnyDb, tenantId: string, backupIds: string[]): Promise<Map<string, string>> {
  if (backupIds.length === 0) return new Map();
  const rows = await backups(db)
    .selectFrom('backups')
    .select(['backup_id', 'status'])
    .where('tenant_id', '=', tenantId)
    .where('backup_id', 'in', backupIds)
    .execute();
  return new Map(rows.map((row) => [row.backup_id, row.status]));
}

async function lastSuccessfulDrill(db: AnyDb, tenantId: string, policyId: string): Promise<BackupPolicyDetail['lastSuccessfulDrill']> {
  const rows = await backups(db)
    .selectFrom('backups')
    .select(['backup_id', 'last_drill'])
    .where('tenant_id', '=', tenantId)
    .where('policy_id', '=', policyId)
    .where('last_drill', 'is not', null)
    .execute();
  let best: BackupPolicyDetail['lastSuccessfulDrill'] = null;
  for (const row of rows) {
    const drill = JSON.parse(row.last_drill!) as { status?: string; drillId?: string; finishedAt?: string };
    if (drill.status !== 'passed' || !drill.finishedAt) continue;
    if (!best || Date.parse(drill.finishedAt) > Date.parse(best.finishedAt))
      best = { backupId: row.backup_id, drillId: String(drill.drillId), finishedAt: drill.finishedAt };
  }
  return best;
}

export async function getBackupPolicy(db: AnyDb, tenantId: string, policyId: string): Promise<BackupPolicyDetail | undefined> {
  if (!isUuid(policyId)) return undefined;
  const row = await policies(db)
    .selectFrom('backup_policies')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('policy_id', '=', policyId.toLowerCase())
    .executeTakeFirst();
  if (!row) return undefined;
  const statuses = await statusesOf(db, tenantId, row.last_backup_id ? [row.last_backup_id] : []);
  return {
    ...view(row, row.last_backup_id ? (statuses.get(row.last_backup_id) ?? null) : null),
    lastSuccessfulDrill: await lastSuccessfulDrill(db, tenantId, row.policy_id),
  };
}

export async function listBackupPolicies(
  db: AnyDb,
  tenantId: string,
  filter: { enabled?: boolean; type?: string } & PageRequest,
): Promise<Page<BackupPolicyView>> {
  let query = policies(db).selectFrom('backup_policies').where('tenant_id', '=', tenantId);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled);
  if (filter.type) query = query.where('backup_type', '=', filter.type);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('name').orderBy('policy_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  const statuses = await statusesOf(
    db,
    tenantId,
    rows.flatMap((row) => (row.last_backup_id ? [row.last_backup_id] : [])),
  );
  return pageOf(
    rows.map((row) => view(row, row.last_backup_id ? (statuses.get(row.last_backup_id) ?? null) : null)),
    Number(count.total),
    filter,
  );
}

/** The policy's finished backups as retention weighs them: completed (and not failed validation) is valid. */
export async function retainedBackupsOf(db: AnyDb, tenantId: string, policyId: string): Promise<RetainedBackup[]> {
  const rows = await backups(db)
    .selectFrom('backups')
    .select(['backup_id', 'status', 'completed_at', 'parent_backup_id', 'last_validation'])
    .where('tenant_id', '=', tenantId)
    .where('policy_id', '=', policyId)
    .where('status', 'in', ['completed', 'partially_failed'])
    .execute();
  return rows.map((row) => ({
    backupId: row.backup_id,
    completedAt: new Date(row.completed_at ?? 0).toISOString(),
    valid:
      row.status === 'completed' &&
      (row.last_validation === null || (JSON.parse(row.last_validation) as { valid?: boolean }).valid !== false),
    parentId: row.parent_backup_id,
  }));
}

/** Enabled policies of every tenant whose next run is before `before` (the scheduler's lost-tick sweep). */
export async function overduePolicies(db: AnyDb, before: Date): Promise<{ policyId: string; tenantId: string; nextRunAt: Date }[]> {
  const rows = await policies(db)
    .selectFrom('backup_policies')
    .select(['policy_id', 'tenant_id', 'next_run_at'])
    .where('enabled', '=', true)
    .where('next_run_at', '<', before)
    .limit(1000)
    .execute();
  return rows.map((row) => ({ policyId: row.policy_id, tenantId: row.tenant_id, nextRunAt: new Date(row.next_run_at!) }));
}
