// The teardown of a deleted environment (a process manager and its worker). A forced delete records
// EnvironmentDeletionStarted (`deleting`); a plain one, EnvironmentDeleted at once (nothing was running, but
// stopped or failed deployments may still hold containers). Either way the worker, until it is done:
//   1. deletes every deployment of the environment that is not deleted (their delete rollouts remove the
//      instances through the reconciler), and waits until each delete rollout has finished;
//   2. removes the environment's target (Docker network, Kubernetes namespace) and what is labelled with it;
//   3. records EnvironmentDeleted (FinishEnvironmentDeletion) for a `deleting` environment, which frees its
//      name and target.
// Each pass is idempotent (command ids derive from the job; the orchestrator calls converge), so a retry or
// a crash resumes; a pass that finds deployments still being torn down throws to be retried with backoff.
import { lifecycle, type DeploymentCommandDeps } from '../../commands/deployments/deployment-handlers.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import { finishEnvironmentDeletion } from '../../commands/environments/index.js';
import { loadAggregate, type CommandContext } from '../../commands/handle-command.js';
import { environmentDecider, environmentStreamId } from '../../domain/environments/index.js';
import { comparePositions, formatPosition, parsePosition, type Position } from '../../ports/event-store.js';
import type { Job, JobHandler } from '../../ports/job-queue.js';
import type { ProcessManager } from '../process-manager.js';
import { loadDeployment } from './deployment-steps.js';

export const ENVIRONMENT_TEARDOWN_PROCESS = 'environment_teardown';
export const ENVIRONMENT_TEARDOWN_QUEUE = 'environment-teardown';
/** Passes before the job is given up (exponential backoff: long enough for slow delete rollouts). */
export const TEARDOWN_ATTEMPTS = 20;

/** `after`: the position of the deletion event; the deployments read model must have reached it. */
export type TeardownJob = { tenantId: string; environmentId: string; after?: string };

export function environmentTeardownProcess(): ProcessManager {
  return {
    name: ENVIRONMENT_TEARDOWN_PROCESS,
    filter: { eventTypes: ['EnvironmentDeletionStarted', 'EnvironmentDeleted'] },
    async handle(recorded, context) {
      const data = recorded.data as { environmentId?: unknown };
      if (typeof data.environmentId !== 'string') return;
      // The EnvironmentDeleted that a finished teardown records needs no second one.
      if (recorded.type === 'EnvironmentDeleted' && recorded.metadata.userId === `process:${ENVIRONMENT_TEARDOWN_PROCESS}`) return;
      const job: TeardownJob = {
        tenantId: String(recorded.metadata.tenantId ?? ''),
        environmentId: data.environmentId,
        after: formatPosition(recorded.position),
      };
      await context.enqueue(ENVIRONMENT_TEARDOWN_QUEUE, job, { attempts: TEARDOWN_ATTEMPTS });
    },
  };
}

export interface TeardownDeps {
  readonly commands: DeploymentCommandDeps;
  /** Ids of the environment's deployments, deleted ones too (the deployments read model). */
  deploymentsIn(tenantId: string, environmentId: string): Promise<string[]>;
  /** How far the deployments read model has projected: a deployment created just before the delete is in
   * `deploymentsIn` only once it has reached the deletion's position. */
  deploymentsProjectedTo(): Promise<Position>;
}

/** The teardown's commands (`what`: a deployment's delete, the finish), idempotent per teardown job. */
export const teardownContext = (tenantId: string, environmentId: string, jobId: string, what: string): CommandContext =>
  jobCommandContext({
    tenantId,
    process: ENVIRONMENT_TEARDOWN_PROCESS,
    namespace: `teardown:${jobId}`,
    key: what,
    correlationId: environmentId,
  });

export function environmentTeardownWorker(deps: TeardownDeps): JobHandler {
  return async (job: Job) => {
    const { tenantId, environmentId, after: deletedAt } = job.payload as TeardownJob;
    const context = (what: string) => teardownContext(tenantId, environmentId, job.id, what);
    const { state: environment } = await loadAggregate(deps.commands, environmentDecider, environmentStreamId(tenantId, environmentId), {
      tenantId,
    });
    if (environment.status === 'absent') return;

    // Without this wait, a deployment accepted just before the delete but not yet projected would be missed:
    // its containers would outlive the environment. A pass that finds the read model behind is retried.
    const after = deletedAt === undefined ? undefined : parsePosition(deletedAt);
    if (after) await projectedPast(deps, after);

    const pending: string[] = [];
    for (const deploymentId of await deps.deploymentsIn(tenantId, environmentId)) {
      let state = await loadDeployment(deps.commands, tenantId, deploymentId);
      if (!state) continue;
      if (!state.deleted) {
        await lifecycle(deps.commands, context(`delete:${deploymentId}`), 'Delete', { deploymentId, reason: 'environment deleted' });
        state = await loadDeployment(deps.commands, tenantId, deploymentId);
      }
      if (state && (!state.deleted || state.rollout !== null)) pending.push(deploymentId);
    }
    if (pending.length > 0) throw new Error(`waiting for ${pending.length} deployment(s) to be torn down: ${pending.join(', ')}`);

    const { orchestrator: kind, target } = environment.settings;
    await deps.commands.orchestrators.get(kind)?.removeEnvironment({ tenantId, environmentId, target });
    if (environment.status === 'deleting') await finishEnvironmentDeletion(deps.commands, context('finish'), { environmentId });
  };
}

/** The job usually runs while the projection of the very append that enqueued it is under way: a short wait
 * here, rather than a failed attempt and a backoff that keeps the environment `deleting` for seconds. */
const PROJECTION_WAIT_MS = 5_000;
const PROJECTION_LOOK_MS = 25;

async function projectedPast(deps: TeardownDeps, position: Position): Promise<void> {
  const deadline = Date.now() + PROJECTION_WAIT_MS;
  while (comparePositions(await deps.deploymentsProjectedTo(), position) < 0) {
    if (Date.now() >= deadline) throw new Error(`waiting for the deployments read model to reach ${formatPosition(position)}`);
    await new Promise((resolve) => setTimeout(resolve, PROJECTION_LOOK_MS));
  }
}
