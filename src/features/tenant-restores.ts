// Tenant point-in-time restore: the tenant's aggregates brought back to a moment by appending events
// through their own commands. The POST records the request, a long job runs it (per-tenant and per-instance
// bounds, like backups' restores). No read model: the restore record is folded from its stream.
import { tenantRestoreHttp } from '../http/tenant-restores/index.js';
import {
  TENANT_RESTORE_QUEUE,
  tenantRestoreProcessManager,
  tenantRestoreWorker,
} from '../processes/tenant-restores/tenant-restore-process.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';
import { templateCommandDeps } from './templates.js';

export const tenantRestoresFeature: FeatureModule = {
  name: 'tenant-restores',
  create: (deps) => {
    const commands = templateCommandDeps(deps);
    return {
      processManagers: [tenantRestoreProcessManager],
      jobWorkers: [
        {
          queue: TENANT_RESTORE_QUEUE,
          handler: tenantRestoreWorker(commands),
          concurrency: 1,
          perGroup: deps.config.LONG_JOBS_PER_TENANT,
          long: true,
        },
      ],
      routes: () => [featureRoutes(tenantRestoreHttp, { commands, dryRunMaxAggregates: deps.config.TENANT_RESTORE_DRY_RUN_MAX })],
    };
  },
};
