// Queries on the batch progress read model. Every query is scoped to the caller's tenant: another
// tenant's batch reads as missing.
import type { Kysely } from 'kysely';
import { batchProgress, type BatchItemStatus, type BatchProgress, type BatchStatus } from '../../domain/batches/index.js';
import type { JsonObject, JsonValue } from '../../domain/json.js';
import { pageOf, pageOffset, type Page, type PageRequest } from '../paging.js';
import { liveSchema } from '../projector.js';
import type { BatchItemRow, BatchRow, BatchTables } from './batch-tables.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const rm = (db: AnyDb) => (db as Kysely<BatchTables>).withSchema(liveSchema('batches'));

export interface BatchView {
  batchId: string;
  operation: string;
  status: BatchStatus;
  progress: BatchProgress;
  conflicts: { total: number; items: JsonValue[] };
  options: JsonObject;
  requestedBy: string;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  undoOf: string | null;
  undoneBy: string | null;
  round: number;
  revision: number;
}

export interface BatchItemView {
  index: number;
  templateId: string;
  status: BatchItemStatus;
  attempts: number;
  error: string | null;
  revisionBefore: number | null;
  revision: number | null;
  conflicts: JsonValue[];
  updatedAt: string;
}

const iso = (date: Date | null) => (date === null ? null : new Date(date).toISOString());

/** `now`: the caller's clock, for throughput and ETA of a batch still running. */
export function batchView(row: BatchRow, now: Date): BatchView {
  const counts = {
    pending: row.pending,
    queued: row.queued,
    succeeded: row.succeeded,
    failed: row.failed,
    skipped: row.skipped,
    cancelled: row.cancelled,
  };
  const end = row.finished_at === null ? now : new Date(row.finished_at);
  return {
    batchId: row.batch_id,
    operation: row.operation,
    status: row.status as BatchStatus,
    progress: batchProgress(counts, {
      startedAt: iso(row.started_at),
      now: end.toISOString(),
    }),
    conflicts: { total: row.conflict_count, items: row.conflicts },
    options: row.options,
    requestedBy: row.requested_by,
    requestedAt: iso(row.requested_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    undoOf: row.undo_of,
    undoneBy: row.undone_by,
    round: row.round,
    revision: Number(row.revision),
  };
}

const itemView = (row: BatchItemRow): BatchItemView => ({
  index: row.item_index,
  templateId: row.template_id,
  status: row.status as BatchItemStatus,
  attempts: row.attempts,
  error: row.reason,
  revisionBefore: row.revision_before === null ? null : Number(row.revision_before),
  revision: row.revision === null ? null : Number(row.revision),
  conflicts: row.conflicts,
  updatedAt: iso(row.updated_at)!,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getBatch(db: AnyDb, tenantId: string, batchId: string, now: Date): Promise<BatchView | undefined> {
  if (!UUID.test(batchId)) return undefined;
  const row = await rm(db)
    .selectFrom('batches')
    .selectAll()
    .where('batch_id', '=', batchId.toLowerCase())
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row && batchView(row, now);
}

export interface BatchListFilter extends PageRequest {
  status?: string;
  operation?: string;
  requestedFrom?: Date;
  requestedTo?: Date;
}

export async function listBatches(db: AnyDb, tenantId: string, filter: BatchListFilter, now: Date): Promise<Page<BatchView>> {
  let query = rm(db).selectFrom('batches').where('tenant_id', '=', tenantId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.operation) query = query.where('operation', '=', filter.operation);
  if (filter.requestedFrom) query = query.where('requested_at', '>=', filter.requestedFrom);
  if (filter.requestedTo) query = query.where('requested_at', '<', filter.requestedTo);
  const [rows, total] = await Promise.all([
    query.selectAll().orderBy('requested_at', 'desc').orderBy('batch_id').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(
    rows.map((row) => batchView(row, now)),
    Number(total.n),
    filter,
  );
}

export async function listBatchItems(
  db: AnyDb,
  tenantId: string,
  batchId: string,
  filter: PageRequest & { outcome?: string },
): Promise<Page<BatchItemView>> {
  let query = rm(db).selectFrom('batch_items').where('batch_id', '=', batchId.toLowerCase()).where('tenant_id', '=', tenantId);
  if (filter.outcome) query = query.where('status', '=', filter.outcome);
  const [rows, total] = await Promise.all([
    query.selectAll().orderBy('item_index').limit(filter.pageSize).offset(pageOffset(filter)).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(itemView), Number(total.n), filter);
}

export async function countBatchesSince(db: AnyDb, tenantId: string, since: Date): Promise<number> {
  const row = await rm(db)
    .selectFrom('batches')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('requested_at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Batches of every tenant that may still have queued work (for the re-enqueue sweep; never served). */
export async function unfinishedBatches(db: AnyDb, limit = 1000): Promise<{ batchId: string; tenantId: string }[]> {
  const rows = await rm(db)
    .selectFrom('batches')
    .select(['batch_id', 'tenant_id'])
    .where('status', 'in', ['scheduled', 'running', 'cancelling'])
    .orderBy('requested_at')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ batchId: row.batch_id, tenantId: row.tenant_id }));
}
