// Tenant point-in-time restore: the tenant's aggregates brought back to a moment by appending events
// through their own commands. No read model: the restore record is folded from its stream.
import { tenantRestoreHttp } from '../http/tenant-restores/index.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';
import { templateCommandDeps } from './templates.js';

export const tenantRestoresFeature: FeatureModule = {
  name: 'tenant-restores',
  create: (deps) => ({
    routes: () => [featureRoutes(tenantRestoreHttp, { commands: templateCommandDeps(deps) })],
  }),
};
