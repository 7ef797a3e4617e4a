// Restores and restore drills. POST /v1/backups/{backupId}/restore records a restore (`restore-<id>`
// stream) and a job on the job queue runs it into an empty target (features/restore-targets.ts);
// /v1/restores shows status and progress. POST /v1/backups/{backupId}/drill records a drill on the backup's
// stream and a job runs it: the drill rebuilds EVERY feature's read models (the projectors the service
// runs, handed in as `allProjectors`), so a new feature is drilled without a list to edit. The last passed
// drill per policy is in /metrics and /ready.
import { createScratchStores } from '../adapters/event-store/scratch-store.js';
import { drillRoutes } from '../http/restores/drill-routes.js';
import { restoreEventsRoute } from '../http/restores/restore-events-route.js';
import { restoreRoutes } from '../http/restores/restore-routes.js';
import { DRILL_QUEUE, drillProcessManager, drillWorker } from '../processes/restores/drill-process.js';
import type { DrillRecorderDeps } from '../processes/restores/drill-recorder.js';
import { RESTORE_QUEUE, restoreProcessManager, restoreWorker } from '../processes/restores/restore-process.js';
import { restoreProjector } from '../projections/restores/restore-projector.js';
import { backupKeyFrom, backupStorageFrom } from './backups.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';
import { drillStatus } from './restore-drill-status.js';
import { inspectRestoreTarget, isLiveDatabase, openRestoreTarget, restoreDirectory } from './restore-targets.js';

export const restoresFeature: FeatureModule = {
  name: 'restores',
  create: (deps) => {
    const storage = backupStorageFrom(deps.config);
    const key = backupKeyFrom(deps.config);
    const status = drillStatus(deps.metrics.registry, deps.db.kysely, deps.clock);
    const drillDeps: DrillRecorderDeps = {
      commands: deps.commands,
      storage,
      ...(key ? { key } : {}),
      eventStore: deps.eventStore,
      // Read when a drill runs: by then every feature is created.
      get projectors() {
        return deps.allProjectors?.() ?? [restoreProjector];
      },
      scratchStores: createScratchStores(deps.db, deps.config.DATABASE_URL, deps.config.DATABASE_CONNECT_TIMEOUT_MS),
      onFinished: (backupId, outcome) =>
        deps.logger.info(
          { backupId, passed: outcome.passed, durationMs: outcome.durationMs, reason: outcome.reason },
          'restore drill finished',
        ),
      onError: (error) => deps.logger.error({ err: error }, 'restore drill: recording its outcome failed'),
    };
    return {
      projectors: [restoreProjector],
      processManagers: [restoreProcessManager, drillProcessManager],
      jobWorkers: [
        {
          queue: RESTORE_QUEUE,
          handler: restoreWorker({
            commands: deps.commands,
            storage,
            ...(key ? { key } : {}),
            openTarget: (target) => openRestoreTarget(deps.config, target),
          }),
          concurrency: 1,
          perGroup: deps.config.LONG_JOBS_PER_TENANT,
          long: true,
        },
        { queue: DRILL_QUEUE, handler: drillWorker(drillDeps), concurrency: 1, perGroup: deps.config.LONG_JOBS_PER_TENANT, long: true },
      ],
      alerts: () => status.alerts(),
      routes: ({ readYourWrites }) => [
        featureRoutes(drillRoutes, { commands: deps.commands }),
        featureRoutes(restoreRoutes, {
          commands: deps.commands,
          db: deps.db,
          readYourWrites,
          storage,
          ...(key ? { key } : {}),
          directoryFor: (tenantId: string, name: string) => restoreDirectory(deps.config, tenantId, name),
          isLiveDatabase: (url: string) => isLiveDatabase(deps.config, url),
          inspectTarget: (target) => inspectRestoreTarget(deps.config, target),
        }),
        featureRoutes(restoreEventsRoute, { eventStore: deps.eventStore }),
      ],
    };
  },
};
