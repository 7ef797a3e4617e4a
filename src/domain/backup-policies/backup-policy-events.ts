// Events of the backup policy aggregate (stream `backuppolicy-<policyId>`). `since` is the instant the
// schedule counts from (creation, the last schedule change, enabling, or the last slot run or skipped);
// `nextRunAt` is the schedule's next slot after it (null while disabled), derived in decide so the
// scheduler and the read model need not recompute it.
import type { BackupScope, BackupType } from '../backups/backup-format.js';
import type { RetentionPolicy } from './backup-retention.js';
import type { BackupSchedule } from './backup-schedule.js';

export type BackupPolicySettings = {
  readonly name: string;
  readonly description: string;
  readonly backupType: BackupType;
  readonly scope: BackupScope;
  readonly schedule: BackupSchedule;
  readonly retention: RetentionPolicy;
  /** Each scheduled run continues the policy's last backup (a full one when there is none). */
  readonly incremental: boolean;
  /** Ask for a restore drill after each successful backup. */
  readonly drillAfterBackup: boolean;
};

export type BackupPolicyRunTrigger = 'schedule' | 'manual';

export type BackupPolicyEvent =
  | {
      type: 'BackupPolicyCreated';
      data: BackupPolicySettings & { policyId: string; enabled: boolean; since: string; nextRunAt: string | null };
    }
  | { type: 'BackupPolicyUpdated'; data: BackupPolicySettings & { previousName: string; since: string; nextRunAt: string | null } }
  | { type: 'BackupPolicyEnabled'; data: { since: string; nextRunAt: string } }
  | { type: 'BackupPolicyDisabled'; data: { disabledAt: string } }
  | { type: 'BackupPolicyDeleted'; data: { name: string; deletedAt: string } }
  | {
      type: 'BackupPolicyRunRecorded';
      data: {
        backupId: string;
        trigger: BackupPolicyRunTrigger;
        /** The schedule slot it runs for (null for a manual run). */
        slot: string | null;
        /** Slots collapsed into this run after downtime (1: none missed). */
        missed: number;
        at: string;
        since: string;
        nextRunAt: string | null;
      };
    }
  | {
      type: 'BackupPolicyRunSkipped';
      data: { slot: string; reason: 'backup_running'; blockingBackupId: string; at: string; since: string; nextRunAt: string | null };
    };

export type BackupPolicyEventType = BackupPolicyEvent['type'];

export const BACKUP_POLICY_EVENT_TYPES: readonly BackupPolicyEventType[] = [
  'BackupPolicyCreated',
  'BackupPolicyUpdated',
  'BackupPolicyEnabled',
  'BackupPolicyDisabled',
  'BackupPolicyDeleted',
  'BackupPolicyRunRecorded',
  'BackupPolicyRunSkipped',
];
