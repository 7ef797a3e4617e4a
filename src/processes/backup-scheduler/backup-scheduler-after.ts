// After a policy's backup completed: apply the policy's retention (`backupsToDelete` over the policy's
// finished backups, each deleted through the backup's own delete command, so the backups worker removes
// its objects) and, when the policy asks for it, start a restore drill of the new backup. Both are
// idempotent per backup: the command ids derive from the completed backup's id.
import { loadBackupPolicy } from '../../commands/backup-policies/index.js';
import { loadBackup, runBackupCommand, startRestoreDrill } from '../../commands/backups/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import { backupsToDelete, type RetainedBackup } from '../../domain/backup-policies/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { schedulerContext } from './backup-scheduler-tick.js';

export interface AfterBackupDeps {
  readonly commands: CommandDeps;
  /** The policy's finished backups from the backups read model (it may lag: the new one is added here). */
  readonly retainedBackups: (tenantId: string, policyId: string) => Promise<RetainedBackup[]>;
  /** Runs a started drill to its end and records the outcome (the restores feature's drill runner). */
  readonly runDrill?: (context: CommandContext, backupId: string, drillId: string) => Promise<void>;
}

export interface AfterBackupOutcome {
  readonly deleted: string[];
  readonly drillId?: string;
}

export async function afterPolicyBackup(deps: AfterBackupDeps, job: { backupId: string; tenantId: string }): Promise<AfterBackupOutcome> {
  const { state: backup } = await loadBackup(deps.commands, job.tenantId, job.backupId);
  if (!backup.policyId || backup.status !== 'completed' || backup.deleted) return { deleted: [] };
  let policy;
  try {
    policy = (await loadBackupPolicy(deps.commands, job.tenantId, backup.policyId)).state;
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return { deleted: [] };
    throw error;
  }
  if (policy.status !== 'active') return { deleted: [] }; // a deleted policy's backups stay until deleted by hand

  const known = await deps.retainedBackups(job.tenantId, backup.policyId);
  const self: RetainedBackup = {
    backupId: backup.backupId,
    completedAt: deps.commands.clock().toISOString(),
    valid: true,
    parentId: backup.started?.parentBackupId ?? null,
  };
  const candidates = known.some((b) => b.backupId === self.backupId) ? known : [...known, self];
  const doomed = backupsToDelete(candidates, policy.retention, deps.commands.clock());
  const deleted: string[] = [];
  for (const backupId of doomed) {
    try {
      const result = await runBackupCommand(
        deps.commands,
        schedulerContext(job.tenantId, `retention:${job.backupId}:${backupId}`),
        backupId,
        {
          type: 'DeleteBackup',
          data: { deletedAt: deps.commands.clock().toISOString() },
        },
      );
      if (result.events.length > 0 && !result.idempotent) deleted.push(backupId);
    } catch (error) {
      // Deleted by hand meanwhile, or running again: nothing for retention to do with it now.
      if (!(error instanceof RuleViolation)) throw error;
    }
  }

  if (!policy.drillAfterBackup || !deps.runDrill) return { deleted };
  const context = schedulerContext(job.tenantId, `drill:${job.backupId}`);
  const drillId = deterministicUuid(`drill:${job.tenantId}:${job.backupId}`, context.commandId);
  try {
    const started = await startRestoreDrill(deps.commands, context, job.backupId, drillId);
    // A re-delivered job finds the drill started already: the first delivery runs it.
    if (started.events.some((event) => event.type === 'RestoreDrillStarted') && !started.idempotent)
      await deps.runDrill(context, job.backupId, drillId);
  } catch (error) {
    if (!(error instanceof RuleViolation)) throw error; // e.g. a drill already running on this backup
  }
  return { deleted, drillId };
}
