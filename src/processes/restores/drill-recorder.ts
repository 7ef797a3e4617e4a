// Runs a restore drill and records its outcome on the backup's stream: RestoreDrillStarted (by the route,
// so a second drill of the same backup is refused while one runs), then RestoreDrillPassed or
// RestoreDrillFailed with the differences (at most MAX_DIFFERENCES, the count in the reason).
import { runBackupCommand } from '../../commands/backups/index.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import { formatPosition } from '../../ports/event-store.js';
import { runRestoreDrill, type RestoreDrillDeps, type RestoreDrillOutcome } from './restore-drill.js';

const MAX_DIFFERENCES = 100;

export interface DrillRecorderDeps extends RestoreDrillDeps {
  readonly commands: CommandDeps;
  readonly onFinished?: (backupId: string, outcome: RestoreDrillOutcome) => void;
  readonly onError?: (error: unknown) => void;
}

/** The context of a drill's outcome: the drill's own command, on behalf of whoever started it. */
export const drillRecordContext = (context: CommandContext, drillId: string, step: string): CommandContext =>
  jobCommandContext({
    tenantId: context.tenantId,
    process: 'restore-drills',
    onBehalfOf: context.userId,
    commandId: `${drillId}:${step}`,
    correlationId: context.correlationId,
    causationId: drillId,
  });

/** Runs the drill that `drillId` names (already started on the stream) and records how it ended. */
export async function runAndRecordDrill(
  deps: DrillRecorderDeps,
  context: CommandContext,
  backupId: string,
  drillId: string,
): Promise<void> {
  let outcome: RestoreDrillOutcome;
  try {
    outcome = await runRestoreDrill(deps, backupId, drillId.replaceAll('-', ''));
  } catch (error) {
    outcome = {
      passed: false,
      position: { commit: 0n, prepare: 0n },
      events: 0,
      tables: 0,
      differences: [],
      reason: (error as Error).message,
      durationMs: 0,
    };
  }
  const finishedAt = deps.commands.clock().toISOString();
  try {
    await runBackupCommand(
      deps.commands,
      drillRecordContext(context, drillId, 'finish'),
      backupId,
      outcome.passed
        ? { type: 'PassRestoreDrill', data: { drillId, position: formatPosition(outcome.position), tables: outcome.tables, finishedAt } }
        : {
            type: 'FailRestoreDrill',
            data: {
              drillId,
              reason: outcome.reason ?? 'the restored read models differ',
              differences: outcome.differences.slice(0, MAX_DIFFERENCES).map((d) => ({ ...d })),
              finishedAt,
            },
          },
    );
    deps.onFinished?.(backupId, outcome);
  } catch (error) {
    deps.onError?.(error);
  }
}
