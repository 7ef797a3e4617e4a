// A safety net for lost ticks: Redis can lose a delayed job (a restart without persistence, FLUSHALL), and
// a tick that failed all its attempts (the store down) is gone too; either would leave a policy waiting
// forever. Every `intervalMs`, each enabled policy whose `nextRunAt` is more than `graceMs` overdue gets a
// tick again. Every instance may run it: the tick decides on the policy's state and runs a slot under a
// command id of its own, so an extra tick starts nothing twice.
import type { JobQueue } from '../../ports/job-queue.js';
import type { BackgroundTask } from '../background-task.js';
import { BACKUP_SCHEDULER_NAME, BACKUP_SCHEDULER_QUEUE } from './backup-scheduler-process.js';

export interface OverduePolicy {
  readonly policyId: string;
  readonly tenantId: string;
  readonly nextRunAt: Date;
}

export interface SchedulerRearmDeps {
  readonly queue: Pick<JobQueue, 'enqueue'>;
  readonly clock: () => Date;
  /** Enabled policies whose next run is before the given instant (every tenant's: a process reads them). */
  readonly overduePolicies: (before: Date) => Promise<OverduePolicy[]>;
}

/** One pass; returns the ticks enqueued. The job id names the pass, so a failed earlier tick never hides a new one. */
export async function rearmOverdueTicks(deps: SchedulerRearmDeps, options: { graceMs: number; intervalMs: number }): Promise<number> {
  const now = deps.clock();
  const pass = Math.floor(now.getTime() / options.intervalMs);
  const overdue = await deps.overduePolicies(new Date(now.getTime() - options.graceMs));
  for (const { policyId, tenantId, nextRunAt } of overdue) {
    const slot = nextRunAt.toISOString();
    await deps.queue.enqueue(
      BACKUP_SCHEDULER_QUEUE,
      `${BACKUP_SCHEDULER_NAME}.rearm.${policyId}.${slot}.${pass}`,
      { action: 'tick', policyId, tenantId, slot },
      { attempts: 10 },
    );
  }
  return overdue.length;
}

export function backupSchedulerRearm(
  deps: SchedulerRearmDeps,
  options: { intervalMs: number; graceMs: number; onError?: (error: unknown) => void },
): BackgroundTask {
  return {
    name: 'backup-scheduler-rearm',
    start() {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> = Promise.resolve();
      const pass = () => {
        running = rearmOverdueTicks(deps, options)
          .then(
            () => undefined,
            (error: unknown) => options.onError?.(error),
          )
          .finally(() => {
            if (!stopped) timer = setTimeout(pass, options.intervalMs);
          });
      };
      timer = setTimeout(pass, options.intervalMs);
      return async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      };
    },
  };
}
