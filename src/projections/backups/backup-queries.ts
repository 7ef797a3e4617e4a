// Queries on the backups read model. Every query filters on the caller's tenant.
import type { Kysely } from 'kysely';
import { backupScopeView, manifestKey, type BackupScopeView } from '../../domain/backups/index.js';
import { isUuid } from '../../domain/uuid.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { BackupRow, BackupTables } from './backup-tables.js';

export interface BackupView {
  backupId: string;
  name: string;
  type: string;
  scope: BackupScopeView;
  incremental: boolean;
  policyId: string | null;
  status: BackupRow['status'];
  parentBackupId: string | null;
  position: { from: string; to: string } | null;
  eventCount: number;
  size: number;
  chunks: number;
  checksum: string | null;
  location: string | null;
  durationMs: number | null;
  failedItems: { item: string; reason: string }[];
  reason: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  lastValidation: Record<string, unknown> | null;
  lastDrill: Record<string, unknown> | null;
  revision: number;
}

export interface BackupFilter extends PageRequest {
  readonly type?: string;
  readonly status?: BackupRow['status'];
  /** Created at or after. */
  readonly from?: Date;
  /** Created before. */
  readonly to?: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
const backups = (db: Kysely<any>) => (db as Kysely<BackupTables>).withSchema(liveSchema('backups'));
const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

// Backups made before locations were storage-relative recorded the manifest's host path: answers show the
// storage key instead, so no host path leaves the service.
const storageLocation = (location: string, backupId: string) =>
  /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(location) ? manifestKey(backupId) : location;

const view = (row: BackupRow): BackupView => ({
  backupId: row.backup_id,
  name: row.name,
  type: row.type,
  scope: backupScopeView(row.scope_tenant_id),
  incremental: row.incremental,
  policyId: row.policy_id,
  status: row.status,
  parentBackupId: row.parent_backup_id,
  position: row.position_from !== null && row.position_to !== null ? { from: row.position_from, to: row.position_to } : null,
  eventCount: Number(row.event_count),
  size: Number(row.bytes),
  chunks: Number(row.chunks),
  checksum: row.checksum || null,
  location: row.location ? storageLocation(row.location, row.backup_id) : null,
  durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
  failedItems: JSON.parse(row.failed_items) as BackupView['failedItems'],
  reason: row.reason,
  createdBy: row.requested_by,
  createdAt: iso(row.created_at)!,
  startedAt: iso(row.started_at),
  completedAt: iso(row.completed_at),
  lastValidation: row.last_validation ? (JSON.parse(row.last_validation) as Record<string, unknown>) : null,
  lastDrill: row.last_drill ? (JSON.parse(row.last_drill) as Record<string, unknown>) : null,
  revision: Number(row.revision),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function getBackup(db: Kysely<any>, tenantId: string, backupId: string): Promise<BackupView | undefined> {
  if (!isUuid(backupId)) return undefined;
  const row = await backups(db)
    .selectFrom('backups')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('backup_id', '=', backupId.toLowerCase())
    .executeTakeFirst();
  return row && view(row);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function listBackups(db: Kysely<any>, tenantId: string, filter: BackupFilter): Promise<Page<BackupView>> {
  let query = backups(db).selectFrom('backups').where('tenant_id', '=', tenantId);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.from) query = query.where('created_at', '>=', filter.from);
  if (filter.to) query = query.where('created_at', '<', filter.to);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('backup_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(view), Number(count.total), filter);
}
