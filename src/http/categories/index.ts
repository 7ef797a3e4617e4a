// Course categories over HTTP: the commands and the queries, each a plugin, under one prefix.
import type { FastifyInstance } from 'fastify';
import { categoryCommandRoutes, type CategoryCommandRouteDeps } from './command-routes.js';
import { categoryQueryRoutes, type CategoryQueryRouteDeps } from './query-routes.js';

export type CategoryRouteDeps = CategoryCommandRouteDeps & CategoryQueryRouteDeps;

export const CATEGORIES_PREFIX = '/v1/categories';

export async function categoryRoutes(app: FastifyInstance, deps: CategoryRouteDeps): Promise<void> {
  await app.register(categoryCommandRoutes, { ...deps, prefix: CATEGORIES_PREFIX });
  await app.register(categoryQueryRoutes, { ...deps, prefix: CATEGORIES_PREFIX });
}
