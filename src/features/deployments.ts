// Deployments: the deployment read model, the reconciler (process manager) and its workers (rollout steps,
// the periodic drift check, config rolls), and the routes. Environments and configs come from the
// environments feature through the environment directory; orchestrators from the shared registry.
import type { DeploymentCommandDeps } from '../commands/deployments/deployment-handlers.js';
import { deploymentRoutes } from '../http/deployments/index.js';
import { deploymentEventsRoute } from '../http/deployments/events-route.js';
import type { EnvironmentDirectory } from '../ports/environment-directory.js';
import { deploymentConfigRollWorker } from '../processes/deployments/deployment-config-roll.js';
import { deploymentDriftWorker } from '../processes/deployments/deployment-drift-check.js';
import {
  DEPLOYMENT_CONFIG_QUEUE,
  DEPLOYMENT_DRIFT_QUEUE,
  DEPLOYMENT_STEPS_QUEUE,
  deploymentReconciler,
} from '../processes/deployments/deployment-reconciler.js';
import { deploymentStepWorker, type ReconcilerDeps } from '../processes/deployments/deployment-steps.js';
import {
  ENVIRONMENT_TEARDOWN_QUEUE,
  environmentTeardownProcess,
  environmentTeardownWorker,
} from '../processes/deployments/environment-teardown.js';
import { deploymentProjector } from '../projections/deployments/deployment-projector.js';
import { readCheckpoint } from '../subscriptions/checkpoints.js';
import { countByStatus, deploymentIdsIn, deploymentsUsingConfig } from '../projections/deployments/deployment-queries.js';
import { deploymentMetrics } from './deployment-metrics.js';
import { environmentDirectoryFor } from './environment-directory.js';
import { featureRoutes, type FeatureDeps, type FeatureModule } from './feature-module.js';

export function deploymentCommandDeps(
  deps: FeatureDeps,
  directory: EnvironmentDirectory = environmentDirectoryFor(deps),
): DeploymentCommandDeps {
  return {
    ...deps.commands,
    directory,
    orchestrators: deps.orchestrators,
    progressDeadlineSeconds: deps.config.DEPLOYMENT_PROGRESS_DEADLINE_SECONDS,
  };
}

/** The module with a given environment directory (tests pass one in memory). */
export const deploymentsFeatureWith = (directoryOf: (deps: FeatureDeps) => EnvironmentDirectory): FeatureModule => ({
  name: 'deployments',
  create: (deps) => {
    const directory = directoryOf(deps);
    const commands = deploymentCommandDeps(deps, directory);
    const monitor = deploymentMetrics(deps.metrics.registry, () => countByStatus(deps.db.kysely));
    const reconciler: ReconcilerDeps = {
      commands: deps.commands,
      directory,
      orchestrators: deps.orchestrators,
      pollMs: deps.config.DEPLOYMENT_POLL_MS,
      minReadyMs: deps.config.DEPLOYMENT_MIN_READY_MS,
      observer: monitor,
    };
    const intervalMs = deps.config.DEPLOYMENT_DRIFT_INTERVAL_MS;
    return {
      projectors: [deploymentProjector],
      processManagers: [deploymentReconciler({ driftIntervalMs: intervalMs }), environmentTeardownProcess()],
      jobWorkers: [
        // A health gate holds its job until the release is healthy or late: enough lanes that one slow
        // rollout does not hold up the others.
        { queue: DEPLOYMENT_STEPS_QUEUE, handler: deploymentStepWorker(reconciler), concurrency: 8 },
        {
          queue: DEPLOYMENT_DRIFT_QUEUE,
          handler: deploymentDriftWorker({ ...reconciler, queue: deps.queue, intervalMs, drift: monitor }),
          concurrency: 2,
        },
        {
          queue: DEPLOYMENT_CONFIG_QUEUE,
          handler: deploymentConfigRollWorker(commands, (t, e, n) => deploymentsUsingConfig(deps.db.kysely, t, e, n)),
          concurrency: 1,
        },
        {
          queue: ENVIRONMENT_TEARDOWN_QUEUE,
          handler: environmentTeardownWorker({
            commands,
            deploymentsIn: (t, e) => deploymentIdsIn(deps.db.kysely, t, e),
            deploymentsProjectedTo: () => readCheckpoint(deps.db, deploymentProjector.name),
          }),
          concurrency: 1,
        },
      ],
      routes: ({ readYourWrites }) => [
        featureRoutes(deploymentRoutes, {
          commands,
          db: deps.db,
          readYourWrites,
          orchestrators: deps.orchestrators,
          onRollback: monitor.rolledBack,
        }),
        featureRoutes(deploymentEventsRoute, { eventStore: deps.eventStore }),
      ],
    };
  },
});

export const deploymentsFeature: FeatureModule = deploymentsFeatureWith(environmentDirectoryFor);
