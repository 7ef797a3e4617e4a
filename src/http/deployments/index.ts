// Deployments over HTTP: commands, queries and the progress stream, under /v1/deployments.
import type { FastifyInstance } from 'fastify';
import { deploymentCommandRoutes, type DeploymentCommandRouteDeps } from './command-routes.js';
import { deploymentQueryRoutes, type DeploymentQueryRouteDeps } from './query-routes.js';

export type DeploymentRouteDeps = DeploymentCommandRouteDeps & DeploymentQueryRouteDeps;

export const DEPLOYMENTS_PREFIX = '/v1/deployments';

export async function deploymentRoutes(app: FastifyInstance, deps: DeploymentRouteDeps): Promise<void> {
  await app.register(deploymentCommandRoutes, { ...deps, prefix: DEPLOYMENTS_PREFIX });
  await app.register(deploymentQueryRoutes, { ...deps, prefix: DEPLOYMENTS_PREFIX });
}
