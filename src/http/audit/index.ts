// Audit over HTTP: the event log's history (/v1/audit) and replays of projections (/v1/admin/projections).
import type { FastifyInstance } from 'fastify';
import { auditRoutes, type AuditRouteDeps } from './audit-routes.js';
import { replayRoutes, type ReplayRouteDeps } from './replay-routes.js';

export type AuditHttpDeps = AuditRouteDeps & ReplayRouteDeps;

export const AUDIT_PREFIX = '/v1/audit';

export async function auditHttp(app: FastifyInstance, deps: AuditHttpDeps): Promise<void> {
  await app.register(auditRoutes, { ...deps, prefix: AUDIT_PREFIX });
  await app.register(replayRoutes, deps);
}
