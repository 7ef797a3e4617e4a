// Environments, configs (secrets sealed with the service's keyring) and config templates: one projector and
// their routes. Deployments read environments and configs through environment-directory.ts; deleting an
// environment asks the deployments feature's census (deployment-census.ts) what still runs in it.
import { environmentFeatureRoutes } from '../http/environments/index.js';
import { environmentProjector } from '../projections/environments/environment-projector.js';
import { activeDeploymentsIn } from './deployment-census.js';
import { keyringFor } from './environment-keyring.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';

export const environmentsFeature: FeatureModule = {
  name: 'environments',
  create: (deps) => {
    const commands = { ...deps.commands, keyring: keyringFor(deps), runningDeployments: activeDeploymentsIn(deps) };
    return {
      projectors: [environmentProjector],
      routes: ({ readYourWrites }) => [featureRoutes(environmentFeatureRoutes, { commands, db: deps.db, readYourWrites })],
    };
  },
};
