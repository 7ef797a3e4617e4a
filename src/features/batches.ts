// Batch operations: the batch progress read model, the process manager and its two job workers (control:
// begin, advance the chunk window, start an undo; items: run a chunk's items as template commands), and
// the routes. Workers of one instance share one view of the batch streams (batch-stream-cache.ts).
import type { BatchCommandDeps } from '../commands/batches/batch-commands.js';
import type { BatchStreamCache } from '../commands/batches/batch-stream-cache.js';
import { batchEventsRoute } from '../http/batches/batch-events-route.js';
import { batchRoutes } from '../http/batches/batch-routes.js';
import {
  BATCH_CONTROL_QUEUE,
  BATCH_ITEMS_QUEUE,
  batchControlWorker,
  batchItemsWorker,
  batchProcessManager,
  batchWorkerCache,
} from '../processes/batches/batch-process.js';
import { batchRequeueSweep } from '../processes/batches/batch-requeue.js';
import { batchProjector } from '../projections/batches/batch-projector.js';
import { unfinishedBatches } from '../projections/batches/batch-queries.js';
import { batchSnapshotReads } from '../projections/batches/batch-snapshot-reads.js';
import { batchMetrics } from './batch-metrics.js';
import { featureRoutes, type FeatureDeps, type FeatureModule } from './feature-module.js';
import { templateCommandDeps, templateReadModelCatchUp } from './templates.js';

export function batchCommandDeps(deps: FeatureDeps, streams: BatchStreamCache): BatchCommandDeps {
  return {
    ...deps.commands,
    streams,
    reads: batchSnapshotReads(deps.db.kysely, templateReadModelCatchUp(deps)),
    limits: {
      maxItems: deps.config.BATCH_MAX_ITEMS,
      maxTemplatesPerTenant: deps.config.TEMPLATE_MAX_PER_TENANT,
      maxBatchesPerMinute: deps.config.BATCH_MAX_PER_MINUTE,
    },
  };
}

export const batchesFeature: FeatureModule = {
  name: 'batches',
  create: (deps) => {
    // One writer per batch stream in this process, shared by the routes' commands and the workers.
    const cache = batchWorkerCache(deps.commands);
    const commands = batchCommandDeps(deps, cache);
    const metrics = batchMetrics(deps.metrics.registry, deps.queue, [BATCH_CONTROL_QUEUE, BATCH_ITEMS_QUEUE]);
    return {
      alerts: () => metrics.alerts(),
      // Redis may lose queued jobs (a restart without persistence, FLUSHALL); the SQL queue cannot.
      backgroundTasks: deps.config.REDIS_URL
        ? [
            batchRequeueSweep(
              {
                eventStore: deps.eventStore,
                queue: deps.queue,
                cache,
                clock: deps.clock,
                unfinishedBatches: () => unfinishedBatches(deps.db.kysely),
              },
              {
                intervalMs: deps.config.BATCH_REQUEUE_INTERVAL_MS,
                onError: (error) => deps.logger.warn({ err: error }, 'batch re-enqueue sweep failed'),
              },
            ),
          ]
        : [],
      projectors: [batchProjector],
      processManagers: [batchProcessManager],
      jobWorkers: [
        {
          queue: BATCH_CONTROL_QUEUE,
          handler: batchControlWorker(deps.commands, cache),
          concurrency: 2,
        },
        {
          queue: BATCH_ITEMS_QUEUE,
          handler: batchItemsWorker(templateCommandDeps(deps), cache, metrics),
          concurrency: 4,
          // A chunk is the batch's long part: per tenant and in the instance's total, like restores.
          perGroup: deps.config.LONG_JOBS_PER_TENANT,
          long: true,
        },
      ],
      routes: ({ readYourWrites }) => [
        featureRoutes(batchRoutes, { commands, db: deps.db, readYourWrites, eventStore: deps.eventStore }),
        featureRoutes(batchEventsRoute, { eventStore: deps.eventStore }),
      ],
    };
  },
};
