// Queries on the restores read model. Every query filters on the caller's tenant.
import { basename } from 'node:path';
import type { Kysely } from 'kysely';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { RestoreRow, RestoreTables } from './restore-projector.js';

export interface RestoreView {
  restoreId: string;
  backupId: string;
  backupScope: { tenantId?: string; allTenants?: true };
  target: { kind: string; location: string };
  toPosition: string | null;
  toTime: string | null;
  status: RestoreRow['status'];
  runs: number;
  eventsRestored: number;
  totalEvents: number | null;
  streams: number | null;
  range: { first: string | null; last: string | null };
  chain: string[];
  parts: { restored: string[]; notRestored: { part: string; reason: string }[] } | null;
  durationMs: number | null;
  error: { reason: string; field: string | null; chunk: string | null } | null;
  requestedBy: string;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  revision: number;
}

export interface RestoreFilter extends PageRequest {
  readonly status?: RestoreRow['status'];
  readonly backupId?: string;
  /** Requested at or after. */
  readonly from?: Date;
  /** Requested before. */
  readonly to?: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
const restores = (db: Kysely<any>) => (db as Kysely<RestoreTables>).withSchema(liveSchema('restores'));
const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

const view = (row: RestoreRow): RestoreView => ({
  restoreId: row.restore_id,
  backupId: row.backup_id,
  // Said as a backup says it (an all-tenants backup is not an empty scope).
  backupScope: row.backup_tenant_id === null ? { allTenants: true } : { tenantId: row.backup_tenant_id },
  // A data directory is shown by the name the caller gave, never as a path on the service's host.
  target: { kind: row.target_kind, location: row.target_kind === 'directory' ? basename(row.target) : row.target },
  toPosition: row.to_position,
  toTime: row.to_time,
  status: row.status,
  runs: Number(row.runs),
  eventsRestored: Number(row.events_restored),
  totalEvents: row.total_events === null ? null : Number(row.total_events),
  streams: row.streams === null ? null : Number(row.streams),
  range: { first: row.first_position, last: row.last_position },
  chain: JSON.parse(row.chain) as string[],
  parts: row.parts ? (JSON.parse(row.parts) as RestoreView['parts']) : null,
  durationMs: row.finished_at && row.started_at ? new Date(row.finished_at).getTime() - new Date(row.started_at).getTime() : null,
  error: row.reason === null ? null : { reason: row.reason, field: row.error_field, chunk: row.error_chunk },
  requestedBy: row.requested_by,
  requestedAt: iso(row.requested_at)!,
  startedAt: iso(row.started_at),
  finishedAt: iso(row.finished_at),
  revision: Number(row.revision),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function getRestore(db: Kysely<any>, tenantId: string, restoreId: string): Promise<RestoreView | undefined> {
  const row = await restores(db)
    .selectFrom('restores')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('restore_id', '=', restoreId.toLowerCase())
    .executeTakeFirst();
  return row && view(row);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function listRestores(db: Kysely<any>, tenantId: string, filter: RestoreFilter): Promise<Page<RestoreView>> {
  let query = restores(db).selectFrom('restores').where('tenant_id', '=', tenantId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.backupId) query = query.where('backup_id', '=', filter.backupId.toLowerCase());
  if (filter.from) query = query.where('requested_at', '>=', filter.from);
  if (filter.to) query = query.where('requested_at', '<', filter.to);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('requested_at', 'desc').orderBy('restore_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(view), Number(count.total), filter);
}
