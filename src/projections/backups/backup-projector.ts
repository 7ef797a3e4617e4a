// Projects backup events into rm_backups.backups: status, size, checksum, location, duration, the last
// validation and the last restore drill of each backup.
import type { Kysely } from 'kysely';
import { BACKUP_CATEGORY, type BackupEvent } from '../../domain/backups/index.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import type { Projector } from '../projector.js';
import type { BackupRow, BackupTables } from './backup-tables.js';

const backupIdOf = (streamId: string) => idOfStream(BACKUP_CATEGORY, streamId);

/** The row after one event; null: the backup is deleted. */
function apply(row: BackupRow | undefined, event: RecordedEvent): BackupRow | undefined | null {
  const e = { type: event.type, data: event.data } as BackupEvent;
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  if (e.type === 'BackupRequested')
    return {
      tenant_id: String(event.metadata.tenantId),
      backup_id: e.data.backupId.toLowerCase(),
      name: e.data.name,
      type: e.data.backupType,
      scope_tenant_id: e.data.scope.tenantId ?? null,
      incremental: e.data.incremental,
      policy_id: e.data.policyId,
      status: 'queued',
      parent_backup_id: null,
      position_from: null,
      position_to: null,
      event_count: 0,
      bytes: 0,
      chunks: 0,
      checksum: null,
      location: null,
      duration_ms: null,
      failed_items: '[]',
      reason: null,
      requested_by: e.data.requestedBy,
      created_at: at,
      started_at: null,
      completed_at: null,
      last_validation: null,
      last_drill: null,
      revision: Number(event.revision),
    };
  if (!row) return row;
  const next = (changes: Partial<BackupRow>): BackupRow => ({ ...row, ...changes, revision: Number(event.revision) });
  const drill = (changes: Record<string, unknown>) => JSON.stringify({ ...(row.last_drill ? JSON.parse(row.last_drill) : {}), ...changes });
  switch (e.type) {
    case 'BackupStarted':
      return next({
        status: 'running',
        parent_backup_id: e.data.parentBackupId,
        position_from: e.data.from,
        position_to: e.data.to,
        location: e.data.location,
        started_at: new Date(e.data.startedAt),
      });
    case 'BackupChunkWritten':
      return next({ event_count: row.event_count + e.data.chunk.events, bytes: row.bytes + e.data.chunk.bytes, chunks: row.chunks + 1 });
    case 'BackupItemFailed':
      return next({ failed_items: JSON.stringify([...(JSON.parse(row.failed_items) as unknown[]), e.data]) });
    case 'BackupCompleted':
    case 'BackupPartiallyFailed':
      return next({
        status: e.type === 'BackupCompleted' ? 'completed' : 'partially_failed',
        event_count: e.data.eventCount,
        bytes: e.data.bytes,
        checksum: e.data.checksum,
        location: e.data.location,
        duration_ms: e.data.durationMs,
        completed_at: new Date(e.data.completedAt),
      });
    case 'BackupFailed':
      return next({
        status: 'failed',
        reason: e.data.reason,
        completed_at: new Date(e.data.failedAt),
        duration_ms: row.started_at ? Math.max(0, Date.parse(e.data.failedAt) - row.started_at.getTime()) : null,
        event_count: 0,
        bytes: 0,
      });
    case 'BackupDeleted':
      return null;
    case 'BackupValidated':
      return next({ last_validation: JSON.stringify(e.data) });
    case 'RestoreDrillStarted':
      // Queued until a worker starts it: drills wait their turn per tenant and per instance (LONG_JOBS_*).
      return next({ last_drill: JSON.stringify({ drillId: e.data.drillId, status: 'queued', startedAt: e.data.startedAt }) });
    case 'RestoreDrillRunStarted':
      return next({ last_drill: drill({ status: 'running', runs: e.data.run, runStartedAt: e.data.startedAt }) });
    case 'RestoreDrillPassed':
      return next({ last_drill: drill({ status: 'passed', ...e.data }) });
    case 'RestoreDrillFailed':
      return next({ last_drill: drill({ status: 'failed', ...e.data }) });
    default:
      return next({});
  }
}

export const backupProjector: Projector = {
  name: 'backups',
  filter: { categories: [BACKUP_CATEGORY] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('backups')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('backup_id', 'uuid', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('scope_tenant_id', 'text')
      .addColumn('incremental', 'boolean', (c) => c.notNull())
      .addColumn('policy_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('parent_backup_id', 'text')
      .addColumn('position_from', 'text')
      .addColumn('position_to', 'text')
      .addColumn('event_count', 'bigint', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('chunks', 'integer', (c) => c.notNull())
      .addColumn('checksum', 'text')
      .addColumn('location', 'text')
      .addColumn('duration_ms', 'bigint')
      .addColumn('failed_items', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('started_at', 'timestamptz')
      .addColumn('completed_at', 'timestamptz')
      .addColumn('last_validation', 'text')
      .addColumn('last_drill', 'text')
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('backups_pk', ['tenant_id', 'backup_id'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createIndex('backups_tenant_created')
      .ifNotExists()
      .on('backups')
      .columns(['tenant_id', 'created_at'])
      .execute();
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<BackupTables>;
    const byBackup = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      const backupId = backupIdOf(event.streamId);
      if (backupId === undefined) continue;
      byBackup.set(backupId, [...(byBackup.get(backupId) ?? []), event]);
    }
    if (byBackup.size === 0) return;
    const existing: BackupRow[] = [];
    for (const ids of chunked([...byBackup.keys()], rowsPerStatement(1)))
      existing.push(...(await db.selectFrom('backups').selectAll().where('backup_id', 'in', ids).execute()));
    const rows = new Map(
      existing.map((row) => [
        row.backup_id,
        { ...row, revision: Number(row.revision), event_count: Number(row.event_count), bytes: Number(row.bytes) },
      ]),
    );
    const changed: BackupRow[] = [];
    const deleted: string[] = [];
    for (const [backupId, streamEvents] of byBackup) {
      const stored = rows.get(backupId);
      let row: BackupRow | undefined | null = stored;
      for (const event of streamEvents) {
        if (row && Number(event.revision) <= row.revision) continue; // a replayed batch changes nothing
        if (row === null) break;
        row = apply(row, event);
      }
      if (row === null) deleted.push(backupId);
      else if (row && row !== stored) changed.push(row);
    }
    for (const ids of chunked(deleted, rowsPerStatement(1))) await db.deleteFrom('backups').where('backup_id', 'in', ids).execute();
    for (const chunk of chunked(changed, rowsPerStatement(27))) {
      await db
        .insertInto('backups')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'backup_id']).doUpdateSet((eb) => {
            const keep = ['tenant_id', 'backup_id'];
            const columns = Object.keys(chunk[0]!).filter((column) => !keep.includes(column)) as (keyof BackupRow)[];
            return Object.fromEntries(columns.map((column) => [column, eb.ref(`excluded.${column}`)]));
          }),
        )
        .execute();
    }
  },
};
