// Course templates over HTTP: the commands and the queries, each a plugin, under one prefix.
import type { FastifyInstance } from 'fastify';
import { limitTemplateCommands, templateCommandRoutes, type TemplateCommandRouteDeps } from './command-routes.js';
import { templateQueryRoutes, type TemplateQueryRouteDeps } from './query-routes.js';

export type TemplateRouteDeps = TemplateCommandRouteDeps & TemplateQueryRouteDeps;

export const TEMPLATES_PREFIX = '/v1/templates';

export async function templateRoutes(app: FastifyInstance, deps: TemplateRouteDeps): Promise<void> {
  // On this context, around both plugins: HEAD requests to the queries count against the command budget,
  // as they always have (only GET is exempt).
  limitTemplateCommands(app, deps.opsPerMinute);
  await app.register(templateCommandRoutes, { ...deps, prefix: TEMPLATES_PREFIX });
  await app.register(templateQueryRoutes, { ...deps, prefix: TEMPLATES_PREFIX });
}
