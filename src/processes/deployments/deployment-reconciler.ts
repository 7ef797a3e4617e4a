// The deployment reconciler (a process manager): it turns deployment events into jobs, in its checkpoint
// transaction, so each step runs once per event even across restarts.
// - RolloutPlanned → the rollout's first step; RolloutStepCompleted → the next one (deployment-steps.ts).
//   Each step is its own job, so a crash resumes the plan at the step whose outcome is not recorded.
// - RolloutSucceeded → the periodic drift check of the deployment (deployment-drift-check.ts), a chain of
//   delayed jobs that follows the last rollout that succeeded.
// - ConfigCreated / ConfigUpdated with rollServices → restart the services that reference the config.
import type { DeploymentEvent } from '../../domain/deployments/index.js';
import { deploymentIdOfStream } from '../../domain/deployments/index.js';
import type { ProcessManager } from '../process-manager.js';

export const DEPLOYMENT_PROCESS = 'deployments';
export const DEPLOYMENT_STEPS_QUEUE = 'deployment-steps';
export const DEPLOYMENT_DRIFT_QUEUE = 'deployment-drift';
export const DEPLOYMENT_CONFIG_QUEUE = 'deployment-config-roll';
/** Runs of a step before its rollout is failed (exponential backoff: about 8.5 minutes in all). */
export const STEP_ATTEMPTS = 10;

export type StepJob = { deploymentId: string; tenantId: string; rolloutId: string; step: number };
export type DriftJob = { deploymentId: string; tenantId: string; chain: string; seq: number };
export type ConfigRollJob = { tenantId: string; environmentId: string | null; name: string; version: number; eventId: string };

export function deploymentReconciler(options: { driftIntervalMs: number }): ProcessManager {
  return {
    name: DEPLOYMENT_PROCESS,
    filter: { eventTypes: ['RolloutPlanned', 'RolloutStepCompleted', 'RolloutSucceeded', 'ConfigCreated', 'ConfigUpdated'] },
    async handle(recorded, context) {
      const tenantId = String(recorded.metadata.tenantId ?? '');
      if (recorded.type === 'ConfigCreated' || recorded.type === 'ConfigUpdated') {
        const data = recorded.data as { name?: unknown; environmentId?: unknown; rollServices?: unknown; version?: unknown };
        if (data.rollServices !== true || typeof data.name !== 'string') return;
        const job: ConfigRollJob = {
          tenantId,
          environmentId: typeof data.environmentId === 'string' ? data.environmentId : null,
          name: data.name,
          version: Number(data.version ?? 0),
          eventId: recorded.id,
        };
        await context.enqueue(DEPLOYMENT_CONFIG_QUEUE, job, { attempts: 5 });
        return;
      }
      const deploymentId = deploymentIdOfStream(recorded.streamId);
      if (deploymentId === undefined) return;
      const event = { type: recorded.type, data: recorded.data } as DeploymentEvent;
      switch (event.type) {
        case 'RolloutPlanned':
          await context.enqueue(
            DEPLOYMENT_STEPS_QUEUE,
            { deploymentId, tenantId, rolloutId: event.data.rolloutId, step: 0 } satisfies StepJob,
            { attempts: STEP_ATTEMPTS },
          );
          return;
        case 'RolloutStepCompleted':
          if (event.data.next === null) return;
          await context.enqueue(
            DEPLOYMENT_STEPS_QUEUE,
            { deploymentId, tenantId, rolloutId: event.data.rolloutId, step: event.data.next } satisfies StepJob,
            {
              attempts: STEP_ATTEMPTS,
            },
          );
          return;
        case 'RolloutSucceeded':
          if (event.data.operation === 'delete') return;
          await context.enqueue(
            DEPLOYMENT_DRIFT_QUEUE,
            { deploymentId, tenantId, chain: event.data.rolloutId, seq: 0 } satisfies DriftJob,
            {
              delayMs: options.driftIntervalMs,
              attempts: 3,
            },
          );
          return;
        default:
          return;
      }
    },
  };
}
