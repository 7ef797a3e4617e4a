/** The backups read model: one row per backup (removed when the backup is deleted), tenant first in every key. */
export interface BackupRow {
  tenant_id: string;
  backup_id: string;
  name: string;
  type: string;
  /** The backed-up tenant; null: every tenant. */
  scope_tenant_id: string | null;
  incremental: boolean;
  policy_id: string | null;
  /** `queued` until a worker starts it (BackupStarted): backups wait their turn per tenant and per instance. */
  status: 'queued' | 'running' | 'completed' | 'failed' | 'partially_failed';
  parent_backup_id: string | null;
  position_from: string | null;
  position_to: string | null;
  event_count: number;
  bytes: number;
  chunks: number;
  checksum: string | null;
  location: string | null;
  duration_ms: number | null;
  /** JSON: [{ item, reason }]. */
  failed_items: string;
  reason: string | null;
  requested_by: string;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  /** JSON: the last validation's { valid, errors, warnings, validatedAt }, or null. */
  last_validation: string | null;
  /** JSON: the last restore drill { drillId, status, startedAt, finishedAt?, durationMs?, reason?, differences? }, or null. */
  last_drill: string | null;
  revision: number;
}

export interface BackupTables {
  backups: BackupRow;
}
