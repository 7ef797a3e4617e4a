import type { BackupPolicyRunTrigger, BackupPolicySettings } from './backup-policy-events.js';

export const BACKUP_POLICY_NAME_MAX = 200;
export const BACKUP_POLICY_DESCRIPTION_MAX = 2000;

/** Every command carries `at`, the injected clock's now: the decider has no clock. */
export type BackupPolicyCommand =
  | { type: 'CreateBackupPolicy'; data: BackupPolicySettings & { policyId: string; enabled: boolean; at: string } }
  | { type: 'UpdateBackupPolicy'; data: Partial<BackupPolicySettings> & { at: string } }
  | { type: 'EnableBackupPolicy'; data: { at: string } }
  | { type: 'DisableBackupPolicy'; data: { at: string } }
  | { type: 'DeleteBackupPolicy'; data: { at: string } }
  | {
      type: 'RecordBackupPolicyRun';
      data: { backupId: string; trigger: BackupPolicyRunTrigger; slot: string | null; missed: number; at: string };
    }
  | { type: 'SkipBackupPolicyRun'; data: { slot: string; blockingBackupId: string; at: string } };
