// Backup policies: the policy read model, the routes under /v1/backup-policies, and the scheduler (a
// process manager with a delayed tick per policy, and the worker that runs due policies, applies retention
// after each success and starts a restore drill when the policy asks for one).
import type { CommandContext } from '../commands/handle-command.js';
import { backupPolicyRoutes } from '../http/backup-policies/index.js';
import {
  BACKUP_SCHEDULER_QUEUE,
  backupSchedulerProcess,
  backupSchedulerRearm,
  backupSchedulerWorker,
} from '../processes/backup-scheduler/index.js';
import { backupPolicyProjector } from '../projections/backup-policies/backup-policy-projector.js';
import { overduePolicies, retainedBackupsOf } from '../projections/backup-policies/backup-policy-queries.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';

/** How often overdue policies get a tick again, and how late a run must be to count as overdue. */
const REARM_INTERVAL_MS = 60_000;
const REARM_GRACE_MS = 120_000;

export const backupPoliciesFeature: FeatureModule = {
  name: 'backup_policies',
  create: (deps) => {
    return {
      backgroundTasks: [
        backupSchedulerRearm(
          { queue: deps.queue, clock: deps.clock, overduePolicies: (before) => overduePolicies(deps.db.kysely, before) },
          {
            intervalMs: REARM_INTERVAL_MS,
            graceMs: REARM_GRACE_MS,
            onError: (error) => deps.logger.warn({ err: error }, 'backup scheduler re-arm sweep failed'),
          },
        ),
      ],
      projectors: [backupPolicyProjector],
      processManagers: [backupSchedulerProcess(deps.clock)],
      jobWorkers: [
        {
          queue: BACKUP_SCHEDULER_QUEUE,
          handler: backupSchedulerWorker({
            commands: deps.commands,
            queue: deps.queue,
            retainedBackups: (tenantId, policyId) => retainedBackupsOf(deps.db.kysely, tenantId, policyId),
            // The drill the scheduler starts (RestoreDrillStarted) is run by the restores feature's drill job.
            runDrill: async (_context: CommandContext, _backupId: string, _drillId: string) => undefined,
          }),
          concurrency: 2,
        },
      ],
      routes: ({ readYourWrites }) => [
        featureRoutes(backupPolicyRoutes, {
          commands: deps.commands,
          db: deps.db,
          readYourWrites,
          minScheduleIntervalSeconds: deps.config.BACKUP_POLICY_MIN_INTERVAL_SECONDS,
        }),
      ],
    };
  },
};
