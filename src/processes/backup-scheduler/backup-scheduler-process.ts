// The backup scheduler: a process manager (one active instance, the lease every process manager runs
// under) that follows each policy's `nextRunAt` with a delayed job, and after each completed backup of a
// policy a job that applies its retention and, when asked, starts a restore drill.
//
// - BackupPolicyCreated / Updated / Enabled / RunRecorded / RunSkipped with a nextRunAt → a 'tick' job
//   delayed until then. The job (backup-scheduler-tick.ts) decides with `dueRun` on the policy's current
//   state, so a stale tick (the schedule changed since, the policy was disabled) does nothing; the job
//   queue keeps delayed jobs across restarts, so a tick overdue after downtime runs once, for the latest
//   missed slot.
// - BackupCompleted → an 'after_backup' job (backup-scheduler-after.ts); the job ignores backups that no
//   policy started.
import type { JsonObject } from '../../domain/json.js';
import { BACKUP_POLICY_CATEGORY } from '../../domain/backup-policies/index.js';
import { BACKUP_CATEGORY } from '../../domain/backups/index.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import type { ProcessManager } from '../process-manager.js';

export const BACKUP_SCHEDULER_QUEUE = 'backup_scheduler';
export const BACKUP_SCHEDULER_NAME = 'backup_scheduler';

const SCHEDULING_EVENTS = [
  'BackupPolicyCreated',
  'BackupPolicyUpdated',
  'BackupPolicyEnabled',
  'BackupPolicyRunRecorded',
  'BackupPolicyRunSkipped',
] as const;

export type SchedulerJob =
  | { readonly action: 'tick'; readonly policyId: string; readonly tenantId: string; readonly slot: string }
  | { readonly action: 'after_backup'; readonly backupId: string; readonly tenantId: string };

export function backupSchedulerProcess(clock: () => Date): ProcessManager {
  return {
    name: BACKUP_SCHEDULER_NAME,
    filter: { categories: [BACKUP_POLICY_CATEGORY, BACKUP_CATEGORY], eventTypes: [...SCHEDULING_EVENTS, 'BackupCompleted'] },
    async handle(event, context) {
      const tenantId = String(event.metadata.tenantId ?? '');
      if (event.type === 'BackupCompleted') {
        const backupId = idOfStream(BACKUP_CATEGORY, event.streamId);
        if (backupId === undefined) return; // not a backup's stream
        const job: SchedulerJob = { action: 'after_backup', backupId, tenantId };
        await context.enqueue(BACKUP_SCHEDULER_QUEUE, job as unknown as JsonObject, { attempts: 5 });
        return;
      }
      const nextRunAt = event.data.nextRunAt;
      const policyId = idOfStream(BACKUP_POLICY_CATEGORY, event.streamId);
      if (typeof nextRunAt !== 'string' || policyId === undefined) return; // disabled: no tick until enabled again
      const job: SchedulerJob = { action: 'tick', policyId, tenantId, slot: nextRunAt };
      await context.enqueue(BACKUP_SCHEDULER_QUEUE, job as unknown as JsonObject, {
        delayMs: Math.max(0, Date.parse(nextRunAt) - clock().getTime()),
        attempts: 10,
      });
    },
  };
}
