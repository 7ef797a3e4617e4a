// A feature is a module: one object that says what the feature adds to the service (projectors, routes,
// process managers, job workers, readiness checks) given what the service shares. The composition root
// (src/service.ts) builds the shared dependencies, calls every module in `features` (index.ts) and wires
// what they return; it names no feature. Adding a feature: write its module, add it to that list.
import type { FastifyInstance, FastifyPluginOptions } from 'fastify';
import type { Logger } from 'pino';
import type { CommandDeps } from '../commands/handle-command.js';
import type { Config } from '../config.js';
import type { ReadYourWrites } from '../http/read-your-writes.js';
import type { AlertSource, ReadinessCheck } from '../http/operations/index.js';
import type { EventStore } from '../ports/event-store.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { Metrics } from '../ports/metrics.js';
import type { OrchestratorRegistry } from '../ports/orchestrator.js';
import type { ReadCache } from '../ports/read-cache.js';
import type { SqlDatabase } from '../ports/sql-database.js';
import type { BackgroundTask } from '../processes/background-task.js';
import type { JobWorker } from '../processes/job-worker.js';
import type { ProcessManager } from '../processes/process-manager.js';
import type { ProjectionEngine, Projector } from '../projections/projector.js';

/** What the service shares with every feature. */
export interface FeatureDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly db: SqlDatabase;
  readonly eventStore: EventStore;
  readonly queue: JobQueue;
  /** Cache-aside for read models; entries are invalidated by the feature's projector hooks. */
  readonly cache: ReadCache;
  readonly clock: () => Date;
  /** Docker and Kubernetes, where configured (deployments). */
  readonly orchestrators: OrchestratorRegistry;
  /** The event store and the clock: what every command handler needs. */
  readonly commands: CommandDeps;
  /** Every feature's projectors, once every feature is created (restore drills rebuild them all). */
  readonly allProjectors?: () => readonly Projector[];
}

/** What routes get once the projections run (read-your-writes waits on them). */
export interface FeatureHttpDeps {
  readonly readYourWrites: ReadYourWrites;
  /** The running projections (replays report their progress from it). */
  readonly projections: ProjectionEngine;
}

/** A Fastify plugin and the options to register it with. */
export interface FeatureRoutes<Options extends FastifyPluginOptions = FastifyPluginOptions> {
  // Method syntax on purpose: a plugin of its own options type fits the list's `FeatureRoutes`.
  plugin(app: FastifyInstance, options: Options): Promise<void>;
  readonly options: Options;
}

export const featureRoutes = <Options extends FastifyPluginOptions>(
  plugin: (app: FastifyInstance, options: Options) => Promise<void>,
  options: Options,
): FeatureRoutes<Options> => ({ plugin, options });

/**
 * What one feature adds. Cache invalidation is its projectors' hooks (`afterCommit`, `afterRebuild`),
 * wired here from `deps.cache` (see templates.ts), so the service never knows a feature's tags.
 */
export interface Feature {
  /** Read models: each runs as a checkpointed subscription with its own lease. */
  readonly projectors?: readonly Projector[];
  /** React to events by enqueueing jobs (see processes/process-manager.ts). */
  readonly processManagers?: readonly ProcessManager[];
  /** Run the jobs the process managers enqueue. */
  readonly jobWorkers?: readonly JobWorker[];
  /** Periodic work beside the workers (see processes/background-task.ts). */
  readonly backgroundTasks?: readonly BackgroundTask[];
  /** Added to `/ready`. */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Alert thresholds shown in `/ready` (they degrade it, never fail it). */
  readonly alerts?: AlertSource['alerts'];
  routes?(http: FeatureHttpDeps): readonly FeatureRoutes[];
}

export interface FeatureModule {
  /** Lowercase, unique among the features. */
  readonly name: string;
  create(deps: FeatureDeps): Feature;
}
