// The backup scheduler's worker: one queue, two kinds of job (see backup-scheduler-process.ts).
import type { JobHandler } from '../../ports/job-queue.js';
import { afterPolicyBackup, type AfterBackupDeps } from './backup-scheduler-after.js';
import type { SchedulerJob } from './backup-scheduler-process.js';
import { runSchedulerTick, type SchedulerTickDeps } from './backup-scheduler-tick.js';

export * from './backup-scheduler-after.js';
export * from './backup-scheduler-process.js';
export * from './backup-scheduler-tick.js';

export const backupSchedulerWorker =
  (deps: SchedulerTickDeps & AfterBackupDeps): JobHandler =>
  async (job) => {
    const payload = job.payload as unknown as SchedulerJob;
    if (payload.action === 'tick') await runSchedulerTick(deps, payload);
    else await afterPolicyBackup(deps, payload);
  };
export * from './backup-scheduler-rearm.js';
