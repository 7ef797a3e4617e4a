// Backup policies over HTTP: the commands and the queries, each a plugin, under /v1/backup-policies.
import type { FastifyInstance } from 'fastify';
import { backupPolicyCommandRoutes, type BackupPolicyCommandRouteDeps } from './command-routes.js';
import { backupPolicyQueryRoutes, type BackupPolicyQueryRouteDeps } from './query-routes.js';

export type BackupPolicyRouteDeps = BackupPolicyCommandRouteDeps & BackupPolicyQueryRouteDeps;

export const BACKUP_POLICIES_PREFIX = '/v1/backup-policies';

export async function backupPolicyRoutes(app: FastifyInstance, deps: BackupPolicyRouteDeps): Promise<void> {
  await app.register(backupPolicyCommandRoutes, { ...deps, prefix: BACKUP_POLICIES_PREFIX });
  await app.register(backupPolicyQueryRoutes, { ...deps, prefix: BACKUP_POLICIES_PREFIX });
}
