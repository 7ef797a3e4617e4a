// Restore drills run as jobs: RestoreDrillStarted (recorded by the route) enqueues one job on the drill
// queue, and the worker runs the drill and records its outcome (drill-recorder.ts). A service killed
// mid-drill leaves the job's lease to run out; the next attempt runs the drill again (its scratch store is
// made afresh). The job gets one attempt more than MAX_DRILL_RUNS: that last attempt only records the
// drill as failed, so a drill never stays `running` after the service stopped under it.
import { loadBackup, runBackupCommand } from '../../commands/backups/index.js';
import type { CommandContext } from '../../commands/handle-command.js';
import type { JsonObject } from '../../domain/json.js';
import { BACKUP_CATEGORY } from '../../domain/backups/index.js';
import type { JobHandler } from '../../ports/job-queue.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import type { ProcessManager } from '../process-manager.js';
import { drillRecordContext, runAndRecordDrill, type DrillRecorderDeps } from './drill-recorder.js';

export const DRILL_QUEUE = 'restore-drills';
export const MAX_DRILL_RUNS = 2;

export const drillProcessManager: ProcessManager = {
  name: 'restore_drills',
  filter: { categories: [BACKUP_CATEGORY], eventTypes: ['RestoreDrillStarted'] },
  async handle(event, context) {
    const payload: JsonObject = {
      backupId: idOfStream(BACKUP_CATEGORY, event.streamId) ?? '',
      drillId: String(event.data.drillId),
      tenantId: String(event.metadata.tenantId ?? ''),
      userId: String(event.metadata.userId ?? 'process:restore-drills'),
      correlationId: String(event.metadata.correlationId ?? event.id),
    };
    await context.enqueue(DRILL_QUEUE, payload, { attempts: MAX_DRILL_RUNS + 1, group: payload.tenantId as string });
  },
};

export function drillWorker(deps: DrillRecorderDeps, maxRuns = MAX_DRILL_RUNS): JobHandler {
  return async (job) => {
    const { backupId, drillId, tenantId, userId, correlationId } = job.payload as Record<string, string>;
    const context: CommandContext = {
      tenantId: tenantId!,
      userId: userId!,
      commandId: drillId!,
      correlationId: correlationId!,
      causationId: drillId!,
    };
    const { state } = await loadBackup(deps.commands, tenantId!, backupId!);
    if (!state.drill || state.drill.drillId !== drillId || state.drill.status !== 'running') return; // recorded already
    if (job.attempt > maxRuns) {
      await runBackupCommand(deps.commands, drillRecordContext(context, drillId!, 'finish'), backupId!, {
        type: 'FailRestoreDrill',
        data: {
          drillId: drillId!,
          reason: `the drill was interrupted ${maxRuns} times (the service stopped during each run)`,
          differences: [],
          finishedAt: deps.commands.clock().toISOString(),
        },
      });
      return;
    }
    // Recorded before the work, so the backup's lastDrill shows `running` from here (`queued` before).
    await runBackupCommand(deps.commands, { ...context, commandId: `${drillId}:run:${job.attempt}` }, backupId!, {
      type: 'StartRestoreDrillRun',
      data: { drillId: drillId!, run: job.attempt, startedAt: deps.commands.clock().toISOString() },
    });
    await runAndRecordDrill(deps, context, backupId!, drillId!);
  };
}
