// Orchestrators: GET /v1/orchestrators over the registry the service builds from DOCKER_HOST and KUBECONFIG.
import { orchestratorRoutes } from '../http/orchestrators/index.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';

export const orchestratorsFeature: FeatureModule = {
  name: 'orchestrators',
  create: (deps) => ({
    routes: () => [featureRoutes(orchestratorRoutes, { orchestrators: deps.orchestrators })],
  }),
};
