// A scheduler tick for one policy: runs it when a slot is due (`dueRun` on its current state; after
// downtime the missed slots collapse into one run for the latest). The command id derives from the policy
// and the slot, so a re-delivered tick, a tick enqueued twice for one slot, or two instances running the
// same tick start one backup. A slot whose previous backup still runs is recorded as skipped.
import { runBackupPolicy, loadBackupPolicy, type PolicyRunOutcome } from '../../commands/backup-policies/index.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import { dueRun } from '../../domain/backup-policies/index.js';
import type { JobQueue } from '../../ports/job-queue.js';
import { BACKUP_SCHEDULER_NAME, BACKUP_SCHEDULER_QUEUE } from './backup-scheduler-process.js';

export interface SchedulerTickDeps {
  readonly commands: CommandDeps;
  /** Re-arms a tick that fired before its slot (the queue's clock ahead of ours). */
  readonly queue: Pick<JobQueue, 'enqueue'>;
}

export const schedulerContext = (tenantId: string, key: string, correlationId?: string): CommandContext =>
  jobCommandContext({ tenantId, process: BACKUP_SCHEDULER_NAME, key, ...(correlationId === undefined ? {} : { correlationId }) });

export type TickOutcome = PolicyRunOutcome['outcome'] | 'inactive' | 'early';

export async function runSchedulerTick(deps: SchedulerTickDeps, job: { policyId: string; tenantId: string }): Promise<TickOutcome> {
  const { state } = await loadBackupPolicy(deps.commands, job.tenantId, job.policyId);
  if (state.status !== 'active' || !state.enabled) return 'inactive';
  const now = deps.commands.clock();
  const due = dueRun(state.schedule, new Date(state.since), now);
  if (!due.due) {
    const slot = due.next.toISOString();
    await deps.queue.enqueue(
      BACKUP_SCHEDULER_QUEUE,
      `${BACKUP_SCHEDULER_NAME}.tick.${job.policyId}.${slot}`,
      { action: 'tick', policyId: job.policyId, tenantId: job.tenantId, slot },
      { delayMs: Math.max(0, due.next.getTime() - now.getTime()), attempts: 10 },
    );
    return 'early';
  }
  const slot = due.slot.toISOString();
  const context = schedulerContext(job.tenantId, `run:${job.policyId}:${slot}`);
  const outcome = await runBackupPolicy(
    deps.commands,
    context,
    { policyId: job.policyId },
    { trigger: 'schedule', slot: due.slot, missed: due.missed },
  );
  return outcome.outcome;
}
