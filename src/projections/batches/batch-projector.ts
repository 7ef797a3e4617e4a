// Projects batch events into rm_batches. Per engine batch: one read of the touched batch rows and item
// rows, the events folded in memory, then one multi-row upsert per table (like the category projector).
// Counts move with every item status change; events that carry counts (progress, end) overwrite them,
// so the model agrees with the aggregate at every end event.
import { sql, type Kysely } from 'kysely';
import type { BatchCounts, BatchEvent } from '../../domain/batches/index.js';
import { batchIdOfStream } from '../../domain/batches/batch-streams.js';
import type { JsonValue } from '../../domain/json.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import type { Projector } from '../projector.js';
import { CONFLICTS_KEPT, type BatchItemRow, type BatchRow, type BatchTables } from './batch-tables.js';

const COUNTED = ['pending', 'queued', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
type Counted = (typeof COUNTED)[number];

/** The item indexes an event touches (besides BatchPlanRecorded, which creates them all). */
function touchedIndexes(event: BatchEvent): number[] {
  switch (event.type) {
    case 'BatchConflictsDetected':
      return event.data.conflicts.map((c) => c.index);
    case 'BatchItemSkipped':
    case 'BatchItemSucceeded':
    case 'BatchItemFailed':
      return [event.data.index];
    case 'BatchChunkEnqueued':
    case 'BatchItemsWithdrawn':
    case 'BatchRetryRequested':
      return event.data.indexes;
    default:
      return [];
  }
}

type Work = {
  batch: BatchRow | undefined;
  items: Map<number, BatchItemRow>;
  cancelPendingInStore: boolean;
  changed: boolean;
};

function setStatus(work: Work, row: BatchItemRow, status: string, more: Partial<BatchItemRow>, at: Date): void {
  const batch = work.batch!;
  if (COUNTED.includes(row.status as Counted)) batch[row.status as Counted] -= 1;
  if (COUNTED.includes(status as Counted)) batch[status as Counted] += 1;
  Object.assign(row, more, { status, updated_at: at });
}

const setCounts = (batch: BatchRow, counts: BatchCounts) =>
  Object.assign(batch, {
    ...Object.fromEntries(COUNTED.map((k) => [k, counts[k]])),
    total: counts.total,
  });

function applyEvent(work: Work, recorded: RecordedEvent, batchId: string): void {
  const event = { type: recorded.type, data: recorded.data } as BatchEvent;
  const at = new Date(String(recorded.metadata.occurredAt ?? recorded.recordedAt.toISOString()));
  if (work.batch && Number(recorded.revision) <= work.batch.revision) return; // replayed: already in the row
  if (event.type === 'BatchPlanRecorded') {
    const d = event.data;
    work.batch = {
      batch_id: batchId,
      tenant_id: d.tenantId,
      operation: d.operation,
      status: 'scheduled',
      total: d.total,
      pending: d.total,
      queued: 0,
      succeeded: 0,
      failed: 0,
      skipped: 0,
      cancelled: 0,
      conflict_count: 0,
      conflicts: [],
      options: d.options as never,
      requested_by: d.requestedBy,
      requested_at: new Date(d.requestedAt),
      started_at: null,
      finished_at: null,
      undo_of: d.undoOf,
      undone_by: null,
      round: 0,
      revision: Number(recorded.revision),
      updated_at: at,
    };
    d.items.forEach((item, index) => {
      work.items.set(index, {
        batch_id: batchId,
        item_index: index,
        tenant_id: d.tenantId,
        template_id: item.templateId,
        status: 'pending',
        attempts: 0,
        reason: null,
        revision_before: null,
        revision: null,
        conflicts: [],
        updated_at: at,
      });
    });
    work.changed = true;
    return;
  }
  const batch = work.batch;
  if (!batch) return;
  batch.revision = Number(recorded.revision);
  batch.updated_at = at;
  work.changed = true;
  const item = (index: number) => work.items.get(index);
  switch (event.type) {
    case 'BatchConflictsDetected':
      batch.conflict_count += event.data.conflicts.length;
      batch.conflicts = [
        ...batch.conflicts,
        ...event.data.conflicts.slice(0, Math.max(0, CONFLICTS_KEPT - batch.conflicts.length)),
      ] as JsonValue[];
      for (const conflict of event.data.conflicts) {
        const row = item(conflict.index);
        if (row) row.conflicts = [...row.conflicts, conflict as unknown as JsonValue];
      }
      return;
    case 'BatchItemSkipped': {
      const row = item(event.data.index);
      if (row) setStatus(work, row, 'skipped', { reason: event.data.reason }, at);
      return;
    }
    case 'BatchStarted':
      Object.assign(batch, {
        status: 'running',
        started_at: new Date(event.data.startedAt),
      });
      return;
    case 'BatchChunkEnqueued':
      for (const index of event.data.indexes) {
        const row = item(index);
        if (row) setStatus(work, row, 'queued', {}, at);
      }
      return;
    case 'BatchItemSucceeded': {
      const row = item(event.data.index);
      if (row)
        setStatus(
          work,
          row,
          'succeeded',
          {
            attempts: event.data.attempt,
            reason: null,
            revision_before: event.data.revisionBefore,
            revision: event.data.revision,
          },
          at,
        );
      return;
    }
    case 'BatchItemFailed': {
      const row = item(event.data.index);
      if (row)
        setStatus(work, row, event.data.final ? 'failed' : 'queued', { attempts: event.data.attempt, reason: event.data.reason }, at);
      return;
    }
    case 'BatchItemsWithdrawn':
      for (const index of event.data.indexes) {
        const row = item(index);
        if (row) setStatus(work, row, 'cancelled', { reason: 'withdrawn from the queue by a cancel' }, at);
      }
      return;
    case 'BatchProgressRecorded':
      setCounts(batch, event.data);
      return;
    case 'BatchCompleted':
    case 'BatchPartiallyCompleted':
    case 'BatchFailed': {
      const status = event.type === 'BatchCompleted' ? 'completed' : event.type === 'BatchFailed' ? 'failed' : 'partially_completed';
      Object.assign(batch, {
        status,
        finished_at: new Date(event.data.finishedAt),
      });
      setCounts(batch, event.data.counts);
      return;
    }
    case 'BatchCancelRequested':
      if (batch.status === 'running') batch.status = 'cancelling';
      return;
    case 'BatchCancelled':
      for (const row of work.items.values())
        if (row.status === 'pending')
          Object.assign(row, {
            status: 'cancelled',
            reason: 'the batch was cancelled',
            updated_at: at,
          });
      work.cancelPendingInStore = true;
      Object.assign(batch, {
        status: 'cancelled',
        finished_at: new Date(event.data.finishedAt),
      });
      setCounts(batch, event.data.counts);
      return;
    case 'BatchRetryRequested':
      for (const index of event.data.indexes) {
        const row = item(index);
        if (row) setStatus(work, row, 'pending', { attempts: 0, reason: null }, at);
      }
      Object.assign(batch, {
        status: 'running',
        finished_at: null,
        round: event.data.round,
      });
      return;
    case 'BatchUndoRequested':
      batch.undone_by = event.data.undoBatchId;
      return;
    default:
      return;
  }
}

const json = (value: unknown) => JSON.stringify(value) as never;

export const batchProjector: Projector = {
  name: 'batches',
  filter: { categories: ['batch'] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await sql`
      CREATE TABLE IF NOT EXISTS ${sql.table(`${schema}.batches`)} (
        batch_id uuid PRIMARY KEY, tenant_id text NOT NULL, operation text NOT NULL, status text NOT NULL,
        total integer NOT NULL, pending integer NOT NULL, queued integer NOT NULL, succeeded integer NOT NULL,
        failed integer NOT NULL, skipped integer NOT NULL, cancelled integer NOT NULL,
        conflict_count integer NOT NULL, conflicts jsonb NOT NULL, options jsonb NOT NULL,
        requested_by text NOT NULL, requested_at timestamptz NOT NULL, started_at timestamptz, finished_at timestamptz,
        undo_of uuid, undone_by uuid, round integer NOT NULL, revision bigint NOT NULL, updated_at timestamptz NOT NULL)`.execute(db);
    await sql`CREATE INDEX IF NOT EXISTS batches_tenant_requested ON ${sql.table(`${schema}.batches`)} (tenant_id, requested_at DESC)`.execute(
      db,
    );
    await sql`
      CREATE TABLE IF NOT EXISTS ${sql.table(`${schema}.batch_items`)} (
        batch_id uuid NOT NULL, item_index integer NOT NULL, tenant_id text NOT NULL, template_id uuid NOT NULL,
        status text NOT NULL, attempts integer NOT NULL, reason text, revision_before bigint, revision bigint,
        conflicts jsonb NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (batch_id, item_index))`.execute(db);
    await sql`CREATE INDEX IF NOT EXISTS batch_items_status ON ${sql.table(`${schema}.batch_items`)} (batch_id, status, item_index)`.execute(
      db,
    );
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<BatchTables>;
    const byBatch = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      const batchId = batchIdOfStream(event.streamId);
      if (batchId === undefined) continue;
      byBatch.set(batchId, [...(byBatch.get(batchId) ?? []), event]);
    }
    if (byBatch.size === 0) return;
    const ids = [...byBatch.keys()];
    const stored = new Map<string, BatchRow>();
    for (const chunk of chunked(ids, rowsPerStatement(1))) {
      for (const row of await db.selectFrom('batches').selectAll().where('batch_id', 'in', chunk).execute()) {
        stored.set(row.batch_id, { ...row, revision: Number(row.revision) });
      }
    }
    const works: [string, Work][] = [];
    for (const [batchId, batchEvents] of byBatch) {
      const work: Work = {
        batch: stored.get(batchId),
        items: new Map(),
        cancelPendingInStore: false,
        changed: false,
      };
      // Items already in the store that these events touch, read once.
      if (work.batch) {
        const wanted = new Set<number>();
        for (const event of batchEvents) {
          if (Number(event.revision) > work.batch.revision)
            touchedIndexes({
              type: event.type,
              data: event.data,
            } as BatchEvent).forEach((i) => wanted.add(i));
        }
        for (const chunk of chunked([...wanted], rowsPerStatement(1))) {
          const rows = await db
            .selectFrom('batch_items')
            .selectAll()
            .where('batch_id', '=', batchId)
            .where('item_index', 'in', chunk)
            .execute();
          for (const row of rows)
            work.items.set(row.item_index, {
              ...row,
              revision_before: row.revision_before === null ? null : Number(row.revision_before),
              revision: row.revision === null ? null : Number(row.revision),
            });
        }
      }
      for (const event of batchEvents) applyEvent(work, event, batchId);
      if (work.changed && work.batch) works.push([batchId, work]);
    }
    for (const [batchId, work] of works) {
      if (work.cancelPendingInStore) {
        await db
          .updateTable('batch_items')
          .set({ status: 'cancelled', reason: 'the batch was cancelled' })
          .where('batch_id', '=', batchId)
          .where('status', '=', 'pending')
          .execute();
      }
    }
    const batches = works.map(([, work]) => ({
      ...work.batch!,
      conflicts: json(work.batch!.conflicts),
      options: json(work.batch!.options),
    }));
    for (const chunk of chunked(batches, rowsPerStatement(24))) {
      await db
        .insertInto('batches')
        .values(chunk)
        .onConflict((oc) =>
          oc.column('batch_id').doUpdateSet(
            (eb) =>
              Object.fromEntries(
                Object.keys(chunk[0]!)
                  .filter((k) => k !== 'batch_id')
                  .map((k) => [k, eb.ref(`excluded.${k}` as never)]),
              ) as never,
          ),
        )
        .execute();
    }
    const items = works.flatMap(([, work]) => [...work.items.values()]).map((row) => ({ ...row, conflicts: json(row.conflicts) }));
    for (const chunk of chunked(items, rowsPerStatement(11))) {
      await db
        .insertInto('batch_items')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['batch_id', 'item_index']).doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            attempts: eb.ref('excluded.attempts'),
            reason: eb.ref('excluded.reason'),
            revision_before: eb.ref('excluded.revision_before'),
            revision: eb.ref('excluded.revision'),
            conflicts: eb.ref('excluded.conflicts'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  },
};
