// Projects restore events into rm_restores.restores: one row per restore with its status, the events
// restored so far, the range, the duration and the error. Events of a batch are folded per restore, then
// each changed row is written once.
import { idOfStream } from '../../domain/tenant-streams.js';
import { sql, type Kysely } from 'kysely';
import { RESTORE_CATEGORY, type RestoreEvent } from '../../domain/restores/restore-aggregate.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { Projector } from '../projector.js';

export interface RestoreRow {
  tenant_id: string;
  restore_id: string;
  backup_id: string;
  backup_tenant_id: string | null;
  target_kind: string;
  target: string;
  to_position: string | null;
  to_time: string | null;
  /** `queued` until a worker starts its first run (long jobs wait their turn per tenant and per instance). */
  status: 'queued' | 'running' | 'completed' | 'failed';
  runs: number;
  events_restored: number;
  total_events: number | null;
  streams: number | null;
  first_position: string | null;
  last_position: string | null;
  chain: string;
  /** JSON of RestoredPartsData, null until completed (or for restores recorded before parts were). */
  parts: string | null;
  reason: string | null;
  error_field: string | null;
  error_chunk: string | null;
  requested_by: string;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  revision: number;
}

export interface RestoreTables {
  restores: RestoreRow;
}

function apply(row: RestoreRow | undefined, event: RecordedEvent): RestoreRow | undefined {
  const e = { type: event.type, data: event.data } as RestoreEvent;
  if (e.type === 'RestoreRequested')
    return {
      tenant_id: String(event.metadata.tenantId),
      restore_id: e.data.restoreId,
      backup_id: e.data.backupId,
      backup_tenant_id: e.data.backupTenantId,
      target_kind: e.data.target.kind,
      target: e.data.target.kind === 'database' ? e.data.target.url : e.data.target.path,
      to_position: e.data.toPosition,
      to_time: e.data.toTime,
      status: 'queued',
      runs: 0,
      events_restored: 0,
      total_events: null,
      streams: null,
      first_position: null,
      last_position: null,
      chain: '[]',
      parts: null,
      reason: null,
      error_field: null,
      error_chunk: null,
      requested_by: e.data.requestedBy,
      requested_at: new Date(e.data.requestedAt),
      started_at: null,
      finished_at: null,
      revision: Number(event.revision),
    };
  if (!row) return row;
  const next = (changes: Partial<RestoreRow>): RestoreRow => ({ ...row, ...changes, revision: Number(event.revision) });
  switch (e.type) {
    case 'RestoreRunStarted':
      // A new run starts over: nothing of an interrupted one was kept.
      return next({
        status: 'running',
        runs: e.data.run,
        events_restored: 0,
        last_position: null,
        started_at: row.started_at ?? new Date(e.data.startedAt),
      });
    case 'RestoreProgressed':
      return next({ events_restored: e.data.events, total_events: e.data.totalEvents, last_position: e.data.lastPosition });
    case 'RestoreCompleted':
      return next({
        status: 'completed',
        events_restored: e.data.events,
        streams: e.data.streams,
        chain: JSON.stringify(e.data.chain),
        parts: e.data.parts ? JSON.stringify(e.data.parts) : null,
        first_position: e.data.firstPosition,
        last_position: e.data.lastPosition,
        finished_at: new Date(e.data.finishedAt),
      });
    case 'RestoreFailed':
      return next({
        status: 'failed',
        events_restored: 0,
        last_position: null,
        reason: e.data.reason,
        error_field: e.data.field,
        error_chunk: e.data.chunk,
        finished_at: new Date(e.data.finishedAt),
      });
    default:
      return next({});
  }
}

export const restoreProjector: Projector = {
  name: 'restores',
  filter: { categories: [RESTORE_CATEGORY] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('restores')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('restore_id', 'text', (c) => c.notNull())
      .addColumn('backup_id', 'text', (c) => c.notNull())
      .addColumn('backup_tenant_id', 'text')
      .addColumn('target_kind', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('to_position', 'text')
      .addColumn('to_time', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('runs', 'integer', (c) => c.notNull())
      .addColumn('events_restored', 'bigint', (c) => c.notNull())
      .addColumn('total_events', 'bigint')
      .addColumn('streams', 'bigint')
      .addColumn('first_position', 'text')
      .addColumn('last_position', 'text')
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('parts', 'text')
      .addColumn('reason', 'text')
      .addColumn('error_field', 'text')
      .addColumn('error_chunk', 'text')
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
      .addColumn('started_at', 'timestamptz')
      .addColumn('finished_at', 'timestamptz')
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('restores_pk', ['tenant_id', 'restore_id'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createIndex('restores_tenant_requested')
      .ifNotExists()
      .on('restores')
      .columns(['tenant_id', 'requested_at'])
      .execute();
    // Tables made before parts were recorded get the column (null: not recorded).
    await sql`ALTER TABLE ${sql.id(schema)}.restores ADD COLUMN IF NOT EXISTS parts text`.execute(db);
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<RestoreTables>;
    const rows = new Map<string, RestoreRow | undefined>();
    const changed = new Set<string>();
    for (const event of events) {
      const restoreId = idOfStream(RESTORE_CATEGORY, event.streamId);
      if (restoreId === undefined) continue; // not a restore's stream
      if (!rows.has(restoreId)) {
        const stored = await db.selectFrom('restores').selectAll().where('restore_id', '=', restoreId).executeTakeFirst();
        rows.set(restoreId, stored && { ...stored, revision: Number(stored.revision), events_restored: Number(stored.events_restored) });
      }
      const row = rows.get(restoreId);
      if (row && Number(event.revision) <= row.revision) continue; // a replayed batch changes nothing
      const next = apply(row, event);
      if (next) {
        rows.set(restoreId, next);
        changed.add(restoreId);
      }
    }
    for (const restoreId of changed) {
      const row = rows.get(restoreId)!;
      await db
        .insertInto('restores')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'restore_id']).doUpdateSet((eb) => {
            const columns = Object.keys(row).filter((c) => c !== 'tenant_id' && c !== 'restore_id') as (keyof RestoreRow)[];
            return Object.fromEntries(columns.map((column) => [column, eb.ref(`excluded.${column}`)]));
          }),
        )
        .execute();
    }
  },
};
