// Backup policy queries over HTTP, with read-your-writes.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getBackupPolicy, listBackupPolicies } from '../../projections/backup-policies/backup-policy-queries.js';
import { principalOf } from '../auth.js';
import { setEtag } from '../preconditions.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { idParams, listQuery, listResponse, oneQuery, policyResponse } from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BACKUP_POLICY_CATEGORY } from '../../domain/backup-policies/backup-policy-streams.js';

export interface BackupPolicyQueryRouteDeps {
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

const PROJECTIONS = ['backup_policies'] as const;
const tags = ['backup-policies'];
const read = { permission: 'backups:read' } as const;

export async function backupPolicyQueryRoutes(app: FastifyInstance, deps: BackupPolicyQueryRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/:policyId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One backup policy with its next run, last run and last successful restore drill (ETag = revision)',
        params: idParams,
        querystring: oneQuery,
        response: { 200: policyResponse },
      },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getBackupPolicy(deps.db.kysely, principalOf(request).tenantId, request.params.policyId);
      if (!found) throw notFoundOf(BACKUP_POLICY_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found);
    },
  );

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the backup policies of your tenant, by name, a page at a time',
        querystring: listQuery,
        response: { 200: listResponse },
      },
    },
    async (request) => {
      const { minPosition, enabled, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listBackupPolicies(deps.db.kysely, principalOf(request).tenantId, {
        ...filter,
        ...(enabled !== undefined ? { enabled: enabled === 'true' } : {}),
      });
    },
  );
}
