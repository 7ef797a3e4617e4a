// For the environments feature: how many deployments of an environment are running, deploying or degraded
// (rolled back counts as running), from the deployments read model. Deleting an environment that has any
// is refused unless forced.
import { countActiveDeployments } from '../projections/deployments/deployment-queries.js';
import type { FeatureDeps } from './feature-module.js';

export function activeDeploymentsIn(deps: FeatureDeps): (tenantId: string, environmentId: string) => Promise<number> {
  return (tenantId, environmentId) => countActiveDeployments(deps.db.kysely, tenantId, environmentId);
}
