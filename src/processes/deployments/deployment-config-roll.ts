// A config changed with rollServices: restart, in every deployment of its scope, the services that
// reference it (envFrom or a volume), so they pick up the new values. One restart per (event, deployment):
// a repeated job repeats nothing.
import { lifecycle, type DeploymentCommandDeps } from '../../commands/deployments/deployment-handlers.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import type { Job, JobHandler } from '../../ports/job-queue.js';
import type { ConfigRollJob } from './deployment-reconciler.js';
import { reconcilerContext } from './deployment-steps.js';

/** Deployments of the tenant (in the environment, or all for a tenant-wide config) and their services that
 * name the config. */
export type DeploymentsUsingConfig = (
  tenantId: string,
  environmentId: string | null,
  name: string,
) => Promise<{ deploymentId: string; services: string[] }[]>;

export function deploymentConfigRollWorker(deps: DeploymentCommandDeps, usingConfig: DeploymentsUsingConfig): JobHandler {
  return async (job: Job) => {
    const { tenantId, environmentId, name, version, eventId } = job.payload as ConfigRollJob;
    for (const { deploymentId, services } of await usingConfig(tenantId, environmentId, name)) {
      const context = reconcilerContext(tenantId, eventId, deterministicUuid(`config-roll:${eventId}`, deploymentId));
      try {
        await lifecycle(deps, context, 'Restart', { deploymentId, services, reason: `config ${name} changed (version ${version})` });
      } catch (error) {
        // Stopped, deleted or no longer running those services: nothing to roll.
        if (!(error instanceof RuleViolation)) throw error;
      }
    }
  };
}
