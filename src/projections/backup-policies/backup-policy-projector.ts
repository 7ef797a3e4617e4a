// Projects backup policy events into rm_backup_policies.backup_policies: rows folded per policy in memory
// for a batch, then upserted; a deleted policy's row is removed.
import type { Kysely } from 'kysely';
import type { BackupPolicyEvent } from '../../domain/backup-policies/index.js';
import { BACKUP_POLICY_CATEGORY } from '../../domain/backup-policies/backup-policy-streams.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { Projector } from '../projector.js';
import type { BackupPolicyRow, BackupPolicyTables } from './backup-policy-tables.js';

const dateOrNull = (text: string | null) => (text === null ? null : new Date(text));

/** undefined: no row (never created, or deleted). */
function apply(policyId: string, row: BackupPolicyRow | undefined, event: RecordedEvent): BackupPolicyRow | undefined {
  const e = { type: event.type, data: event.data } as BackupPolicyEvent;
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const by = String(event.metadata.userId ?? '');
  const touched = (changes: Partial<BackupPolicyRow>): BackupPolicyRow | undefined =>
    row && { ...row, ...changes, revision: Number(event.revision), updated_at: at, updated_by: by };
  const settings = (data: Extract<BackupPolicyEvent, { type: 'BackupPolicyCreated' | 'BackupPolicyUpdated' }>['data']) => ({
    name: data.name,
    description: data.description,
    backup_type: data.backupType,
    scope_tenant_id: data.scope.tenantId ?? null,
    schedule: JSON.stringify(data.schedule),
    retention_days: data.retention.days,
    retention_min_count: data.retention.minCount,
    incremental: data.incremental,
    drill_after_backup: data.drillAfterBackup,
    next_run_at: dateOrNull(data.nextRunAt),
  });
  switch (e.type) {
    case 'BackupPolicyCreated':
      return {
        tenant_id: String(event.metadata.tenantId),
        policy_id: policyId,
        ...settings(e.data),
        enabled: e.data.enabled,
        last_run_at: null,
        last_run_trigger: null,
        last_slot: null,
        last_backup_id: null,
        last_skipped_slot: null,
        revision: Number(event.revision),
        created_at: at,
        updated_at: at,
        created_by: by,
        updated_by: by,
      };
    case 'BackupPolicyUpdated':
      return touched(settings(e.data));
    case 'BackupPolicyEnabled':
      return touched({ enabled: true, next_run_at: new Date(e.data.nextRunAt) });
    case 'BackupPolicyDisabled':
      return touched({ enabled: false, next_run_at: null });
    case 'BackupPolicyDeleted':
      return undefined;
    case 'BackupPolicyRunRecorded':
      return touched({
        last_run_at: new Date(e.data.at),
        last_run_trigger: e.data.trigger,
        last_backup_id: e.data.backupId,
        ...(e.data.slot ? { last_slot: new Date(e.data.slot) } : {}),
        next_run_at: dateOrNull(e.data.nextRunAt),
      });
    case 'BackupPolicyRunSkipped':
      return touched({
        last_slot: new Date(e.data.slot),
        last_skipped_slot: new Date(e.data.slot),
        next_run_at: dateOrNull(e.data.nextRunAt),
      });
    default:
      return row;
  }
}

export const backupPolicyProjector: Projector = {
  name: 'backup_policies',
  filter: { categories: ['backuppolicy'] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('backup_policies')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'uuid', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('backup_type', 'text', (c) => c.notNull())
      .addColumn('scope_tenant_id', 'text')
      .addColumn('schedule', 'text', (c) => c.notNull())
      .addColumn('retention_days', 'integer', (c) => c.notNull())
      .addColumn('retention_min_count', 'integer', (c) => c.notNull())
      .addColumn('incremental', 'boolean', (c) => c.notNull())
      .addColumn('drill_after_backup', 'boolean', (c) => c.notNull())
      .addColumn('enabled', 'boolean', (c) => c.notNull())
      .addColumn('next_run_at', 'timestamptz')
      .addColumn('last_run_at', 'timestamptz')
      .addColumn('last_run_trigger', 'text')
      .addColumn('last_slot', 'timestamptz')
      .addColumn('last_backup_id', 'uuid')
      .addColumn('last_skipped_slot', 'timestamptz')
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('backup_policies_pk', ['tenant_id', 'policy_id'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createIndex('backup_policies_tenant_name')
      .ifNotExists()
      .on('backup_policies')
      .columns(['tenant_id', 'name'])
      .execute();
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<BackupPolicyTables>;
    // Per stream: two tenants may use one policy id (domain/tenant-streams.ts); rows are keyed by both.
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (idOfStream(BACKUP_POLICY_CATEGORY, event.streamId) === undefined) continue;
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    for (const [streamId, streamEvents] of byStream) {
      const policyId = idOfStream(BACKUP_POLICY_CATEGORY, streamId)!;
      const tenantId = String(streamEvents[0]!.metadata.tenantId);
      const stored = await db
        .selectFrom('backup_policies')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('policy_id', '=', policyId)
        .executeTakeFirst();
      let row: BackupPolicyRow | undefined = stored && { ...stored, revision: Number(stored.revision) };
      let gone = false;
      for (const event of streamEvents) {
        // Events already in the row are skipped, so a replayed batch changes nothing.
        if (row && Number(event.revision) <= row.revision) continue;
        if (!row && gone) continue;
        row = apply(policyId, row, event);
        if (!row) gone = true;
      }
      if (!row) {
        if (stored) await db.deleteFrom('backup_policies').where('tenant_id', '=', tenantId).where('policy_id', '=', policyId).execute();
        continue;
      }
      const { tenant_id: _tenant, policy_id: _policy, created_at: _created, created_by: _by, ...changes } = row;
      await db
        .insertInto('backup_policies')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'policy_id']).doUpdateSet(changes))
        .execute();
    }
  },
};
