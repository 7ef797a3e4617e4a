// Environments, configs and config templates over HTTP, each a plugin under its prefix.
import type { FastifyInstance } from 'fastify';
import type { ConfigCommandDeps, EnvironmentCommandDeps } from '../../commands/environments/index.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { configRoutes } from './config-routes.js';
import { environmentRoutes } from './environment-routes.js';
import { configTemplateRoutes } from './template-routes.js';

export interface EnvironmentFeatureRouteDeps {
  readonly commands: EnvironmentCommandDeps & ConfigCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

export async function environmentFeatureRoutes(app: FastifyInstance, deps: EnvironmentFeatureRouteDeps): Promise<void> {
  await app.register(environmentRoutes, { ...deps, prefix: '/v1/environments' });
  await app.register(configRoutes, { ...deps, prefix: '/v1/configs' });
  await app.register(configTemplateRoutes, { ...deps, prefix: '/v1/config-templates' });
}
