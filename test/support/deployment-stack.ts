// The deployments feature's parts wired by hand on one database (PGlite, or PostgreSQL by URL): event store,
// the deployments projection, the SQL job queue, the reconciler and its workers, an environment directory
// in memory and an orchestrator (the in-memory fake unless one is given).
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue, type SqlJobQueue } from '../../src/adapters/queue/sql-job-queue.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { DeploymentCommandDeps } from '../../src/commands/deployments/deployment-handlers.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { Orchestrator } from '../../src/ports/orchestrator.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import { deploymentConfigRollWorker } from '../../src/processes/deployments/deployment-config-roll.js';
import { deploymentDriftWorker } from '../../src/processes/deployments/deployment-drift-check.js';
import {
  DEPLOYMENT_CONFIG_QUEUE,
  DEPLOYMENT_DRIFT_QUEUE,
  DEPLOYMENT_STEPS_QUEUE,
  deploymentReconciler,
} from '../../src/processes/deployments/deployment-reconciler.js';
import { deploymentStepWorker, type ReconcilerDeps, type ReconcilerObserver } from '../../src/processes/deployments/deployment-steps.js';
import {
  ENVIRONMENT_TEARDOWN_QUEUE,
  environmentTeardownProcess,
  environmentTeardownWorker,
} from '../../src/processes/deployments/environment-teardown.js';
import { createProcessRuntime, type ProcessRuntime } from '../../src/processes/process-runtime.js';
import { deploymentProjector } from '../../src/projections/deployments/deployment-projector.js';
import { deploymentIdsIn, deploymentsUsingConfig } from '../../src/projections/deployments/deployment-queries.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.js';
import type { ProjectionEngine } from '../../src/projections/projector.js';
import { fakeEnvironmentDirectory, type FakeEnvironmentDirectory } from './fake-environment-directory.js';
import { memoryOrchestrator, memoryRegistry, type MemoryOrchestrator } from './memory-orchestrator.js';

export interface DeploymentStack {
  db: SqlDatabase;
  eventStore: EventStore;
  projections: ProjectionEngine;
  queue: SqlJobQueue;
  processes: ProcessRuntime;
  directory: FakeEnvironmentDirectory;
  orchestrator: Orchestrator;
  memory: MemoryOrchestrator | undefined;
  commands: DeploymentCommandDeps;
  reconciler: ReconcilerDeps;
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export async function createDeploymentStack(
  options: {
    databaseUrl?: string;
    orchestrator?: Orchestrator;
    driftIntervalMs?: number;
    pollMs?: number;
    /** The event store's and the SQL queue's poll intervals (default 10 ms: tests do not wait for polls);
     * the bench passes the service's defaults, so that only wake-ups carry a rollout. */
    storePollMs?: number;
    queuePollMs?: number;
    queueLeaseMs?: number;
    healthyAfterMs?: number;
    /** The health gate's stability window (default 0 with the in-memory orchestrator, whose instances never crash). */
    minReadyMs?: number;
    observer?: ReconcilerObserver;
  } = {},
): Promise<DeploymentStack> {
  const db = options.databaseUrl
    ? createPgDatabase({ connectionString: options.databaseUrl, maxConnections: 10 })
    : await createPgliteDatabase();
  await migrateEventStore(db);
  const eventStore = createPostgresEventStore(db, { pollIntervalMs: options.storePollMs ?? 10 });
  const projections = createProjectionEngine({ db, eventStore, projectors: [deploymentProjector], leaseRetryMs: 20 });
  await projections.start();
  const queue = createSqlJobQueue(db, {
    pollIntervalMs: options.queuePollMs ?? 10,
    ...(options.queueLeaseMs ? { leaseMs: options.queueLeaseMs } : {}),
  });
  await queue.migrate();
  const memory = options.orchestrator ? undefined : memoryOrchestrator({ healthyAfterMs: options.healthyAfterMs ?? 30 });
  const orchestrator = options.orchestrator ?? memory!;
  const directory = fakeEnvironmentDirectory();
  const clock = () => new Date();
  const orchestrators = memoryRegistry(orchestrator);
  const commands: DeploymentCommandDeps = { eventStore, clock, directory, orchestrators };
  const reconciler: ReconcilerDeps = {
    commands: { eventStore, clock },
    directory,
    orchestrators,
    pollMs: options.pollMs ?? 20,
    minReadyMs: options.minReadyMs ?? (options.orchestrator ? 2000 : 0),
    ...(options.observer ? { observer: options.observer } : {}),
  };
  const driftIntervalMs = options.driftIntervalMs ?? 60_000;
  const processes = createProcessRuntime({
    db,
    eventStore,
    queue,
    processes: [deploymentReconciler({ driftIntervalMs }), environmentTeardownProcess()],
    leaseRetryMs: 20,
    retryDelayMs: () => 50,
  });
  let stops: (() => Promise<void>)[] = [];
  const stack: DeploymentStack = {
    db,
    eventStore,
    projections,
    queue,
    processes,
    directory,
    orchestrator,
    memory,
    commands,
    reconciler,
    async startWorkers() {
      await processes.start();
      stops = [
        await queue.work(DEPLOYMENT_STEPS_QUEUE, deploymentStepWorker(reconciler), { concurrency: 4 }),
        await queue.work(DEPLOYMENT_DRIFT_QUEUE, deploymentDriftWorker({ ...reconciler, queue, intervalMs: driftIntervalMs }), {
          concurrency: 2,
        }),
        await queue.work(
          DEPLOYMENT_CONFIG_QUEUE,
          deploymentConfigRollWorker(commands, (t, e, n) => deploymentsUsingConfig(db.kysely, t, e, n)),
          { concurrency: 1 },
        ),
        await queue.work(
          ENVIRONMENT_TEARDOWN_QUEUE,
          environmentTeardownWorker({
            commands,
            deploymentsIn: (t, e) => deploymentIdsIn(db.kysely, t, e),
            deploymentsProjectedTo: () => readCheckpoint(db, deploymentProjector.name),
          }),
          { concurrency: 1 },
        ),
      ];
    },
    async stopWorkers() {
      await processes.stop();
      await Promise.all(stops.map((stop) => stop()));
      stops = [];
    },
    async caughtUp() {
      const head = await eventStore.headPosition();
      if (head) await projections.waitFor(head, { timeoutMs: 20_000 });
    },
    async close() {
      await stack.stopWorkers();
      await queue.close();
      await projections.stop();
      await eventStore.close();
      await db.close();
    },
  };
  return stack;
}
