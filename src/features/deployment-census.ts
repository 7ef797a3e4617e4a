// PLACEHOLDER: the deployments feature replaces this file at merge with its real census (its read model of
// running deployments). Until then no environment has running deployments.
import type { FeatureDeps } from './feature-module.js';

/** How many deployments of the environment are not deleted (they keep it from being deleted unless forced). */
export function activeDeploymentsIn(deps: FeatureDeps): (tenantId: string, environmentId: string) => Promise<number> {
  void deps;
  return async () => 0;
}
