/** The backup policies read model: one row per policy not deleted, tenant first in every key. */
export interface BackupPolicyRow {
  tenant_id: string;
  policy_id: string;
  name: string;
  description: string;
  backup_type: string;
  /** The backed-up tenant; null: every tenant. */
  scope_tenant_id: string | null;
  /** JSON: the schedule as the API takes it. */
  schedule: string;
  retention_days: number;
  retention_min_count: number;
  incremental: boolean;
  drill_after_backup: boolean;
  enabled: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_run_trigger: string | null;
  last_slot: Date | null;
  last_backup_id: string | null;
  /** The last slot skipped because the previous backup was still running, or null. */
  last_skipped_slot: Date | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

export interface BackupPolicyTables {
  backup_policies: BackupPolicyRow;
}
