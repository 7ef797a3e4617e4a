// Restores and restore drills: POST /v1/backups/{backupId}/drill, the drill's outcome recorded on the
// backup's stream, and the last passed drill per policy in /metrics and /ready. The drill rebuilds the read
// models of the projectors listed here (add a feature's projector to DRILL_PROJECTORS to have it drilled).
import { createScratchStores } from '../adapters/event-store/scratch-store.js';
import { drillRoutes } from '../http/restores/drill-routes.js';
import { runAndRecordDrill } from '../processes/restores/drill-recorder.js';
import type { DrillProjector } from '../processes/restores/restore-drill.js';
import { backupProjector } from '../projections/backups/backup-projector.js';
import { batchProjector } from '../projections/batches/batch-projector.js';
import { categoryProjector } from '../projections/categories/category-projector.js';
import { templateProjector } from '../projections/templates/template-projector.js';
import { backupKeyFrom, backupStorageFrom } from './backups.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';
import { drillStatus } from './restore-drill-status.js';

export const DRILL_PROJECTORS = (): readonly DrillProjector[] => [categoryProjector, templateProjector(), batchProjector, backupProjector];

export const restoresFeature: FeatureModule = {
  name: 'restores',
  create: (deps) => {
    const storage = backupStorageFrom(deps.config);
    const key = backupKeyFrom(deps.config);
    const status = drillStatus(deps.metrics.registry, deps.db.kysely, deps.clock);
    const drillDeps = {
      commands: deps.commands,
      storage,
      ...(key ? { key } : {}),
      eventStore: deps.eventStore,
      projectors: DRILL_PROJECTORS(),
      scratchStores: createScratchStores(deps.db, deps.config.DATABASE_URL),
      onFinished: (backupId: string, outcome: { passed: boolean; durationMs: number; reason?: string }) =>
        deps.logger.info(
          { backupId, passed: outcome.passed, durationMs: outcome.durationMs, reason: outcome.reason },
          'restore drill finished',
        ),
      onError: (error: unknown) => deps.logger.error({ err: error }, 'restore drill: recording its outcome failed'),
    };
    return {
      alerts: () => status.alerts(),
      routes: () => [
        featureRoutes(drillRoutes, {
          commands: deps.commands,
          runDrill: (context, backupId, drillId) => runAndRecordDrill(drillDeps, context, backupId, drillId),
        }),
      ],
    };
  },
};
