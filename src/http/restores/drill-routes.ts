// POST /v1/backups/{backupId}/drill: start a restore drill (202). The drill restores the backup into a
// scratch store, rebuilds every read model from it and from the live log at the backup's position, and
// records RestoreDrillPassed or RestoreDrillFailed on the backup's stream; GET /v1/backups/{backupId} shows
// it as `lastDrill`. A tenant admin drills its own tenant's backups; a backup of every tenant needs the
// platform permission. Another tenant's backup is 404.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loadBackup, startRestoreDrill } from '../../commands/backups/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BACKUP_CATEGORY } from '../../domain/backups/backup-streams.js';

export interface DrillRouteDeps {
  readonly commands: CommandDeps;
}

const params = z.strictObject({ backupId: z.uuid() });
const drillAccepted = z.object({
  backupId: z.string(),
  drillId: z.string(),
  status: z.literal('queued').describe('A worker runs it when its turn comes; the backup shows lastDrill.status running then'),
  revision: z.number().int(),
  position: z.string(),
});

async function drillRoutesPlugin(app: FastifyInstance, deps: DrillRouteDeps): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/:backupId/drill',
    {
      config: { permission: 'backups:write' },
      schema: {
        tags: ['backups'],
        summary:
          'Start a restore drill (202): restore into a scratch store, rebuild every read model, compare with the live ones as of the backup position',
        headers: commandHeaders,
        params,
        response: { 202: drillAccepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const backupId = request.params.backupId.toLowerCase();
      const { state } = await loadBackup(deps.commands, context.tenantId, backupId);
      if (state.status === 'none' || state.deleted) throw notFoundOf(BACKUP_CATEGORY);
      if (state.scope.tenantId === undefined && !hasPermission(principalOf(request), PLATFORM_PERMISSION))
        throw new HttpProblem(403, 'backup.platform_permission', 'a drill of a backup of every tenant needs the platform permission', {
          permission: PLATFORM_PERMISSION,
          errors: [{ field: 'backupId', rule: 'backup.platform_permission', message: 'the backup holds every tenant' }],
        });
      if (state.status === 'running')
        throw new HttpProblem(409, 'backup.running', 'the backup is still running; drill it once it has finished');
      const drillId = deterministicUuid(`drill:${context.tenantId}:${backupId}`, context.commandId);
      const result = await startRestoreDrill(deps.commands, context, backupId, drillId);
      // RestoreDrillStarted enqueues the drill's job (processes/restores/drill-process.ts); a replayed request
      // (same Idempotency-Key) finds the drill already started and enqueues nothing again.
      reply.header('location', `/v1/backups/${backupId}`);
      return reply.code(202).send({ backupId, drillId, status: 'queued' as const, ...commandAccepted(reply, result) });
    },
  );
}

export async function drillRoutes(app: FastifyInstance, deps: DrillRouteDeps): Promise<void> {
  await app.register(drillRoutesPlugin, { ...deps, prefix: '/v1/backups' });
}
