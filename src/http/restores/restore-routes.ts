// Restores over HTTP: POST /v1/backups/{backupId}/restore (202; a job runs it), GET /v1/restores (paged,
// filters), GET /v1/restores/{restoreId}. Everything that can be checked before the run is checked here,
// so bad input is a 4xx naming the field and no restore is recorded: the backup (another tenant's is
// 404), the permission (a backup of every tenant, or a database URL as target, needs `platform`), the
// target (must be empty: 409), and the asked end against the backup's chain (400 naming toPosition /
// toTime). The target rule is in features/restore-targets.ts.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { BackupChainError, loadBackup, readManifest, type BackupKey } from '../../commands/backups/index.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { checkRestoreRequest, requestRestore } from '../../commands/restores/restore-commands.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import type { RestoreTargetSpec } from '../../domain/restores/restore-aggregate.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { parsePosition } from '../../ports/event-store.js';
import { RestoreRangeError } from '../../ports/restore-target.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getRestore, listRestores } from '../../projections/restores/restore-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import {
  backupParams,
  oneRestoreQuery,
  restoreAccepted,
  restoreBody,
  restoreListQuery,
  restoreListResponse,
  restoreParams,
  restoreResponse,
} from './restore-schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BACKUP_CATEGORY } from '../../domain/backups/backup-streams.js';
import { RESTORE_CATEGORY } from '../../domain/restores/restore-aggregate.js';

export interface RestoreRouteDeps {
  readonly commands: CommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  readonly storage: BackupStorage;
  readonly key?: BackupKey;
  /** DATA_DIR/restores/<tenant>/<name>. */
  readonly directoryFor: (tenantId: string, name: string) => string;
  readonly isLiveDatabase: (url: string) => boolean;
  readonly inspectTarget: (
    target: RestoreTargetSpec,
  ) => Promise<{ state: 'empty' } | { state: 'not_empty' | 'unreachable'; detail: string }>;
}

const PROJECTIONS = ['restores'] as const;
const tags = ['restores'];

const problem = (status: number, rule: string, field: string, message: string) =>
  new HttpProblem(status, rule, message, { errors: [{ field, rule, message }] });
const backupNotFound = () => notFoundOf(BACKUP_CATEGORY);

async function backupTenantOf(deps: RestoreRouteDeps, tenantId: string, backupId: string, platform: boolean): Promise<string | null> {
  let state;
  try {
    state = (await loadBackup(deps.commands, tenantId, backupId)).state;
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') throw backupNotFound();
    throw error;
  }
  if (state.status === 'none' || state.deleted) {
    // A backup this log never made (another cluster's, or the CLI's) is restorable from the storage by the platform.
    const manifest = platform ? await readManifest(deps.storage, backupId) : undefined;
    if (!manifest) throw backupNotFound();
    return manifest.scope.tenantId ?? null;
  }
  if (state.status === 'running')
    throw new HttpProblem(409, 'backup.running', 'the backup is still running; restore it once it has finished');
  if (state.status === 'failed') throw new HttpProblem(409, 'backup.failed', 'the backup failed: there is nothing to restore');
  return state.scope.tenantId ?? null;
}

async function restoreRoutesPlugin(app: FastifyInstance, deps: RestoreRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/v1/backups/:backupId/restore',
    {
      config: { permission: 'backups:write' },
      schema: {
        tags,
        summary: 'Restore a backup (its chain) into an empty target, up to the end, a position or an instant (202; a job runs it)',
        headers: commandHeaders,
        params: backupParams,
        body: restoreBody,
        response: { 202: restoreAccepted },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const platform = hasPermission(principal, PLATFORM_PERMISSION);
      const backupId = request.params.backupId.toLowerCase();
      const { target: asked, toPosition: positionText, toTime: timeText } = request.body;
      const backupTenantId = await backupTenantOf(deps, principal.tenantId, backupId, platform);
      if (!platform && backupTenantId !== principal.tenantId)
        throw new HttpProblem(403, 'backup.platform_permission', 'a restore of a backup of every tenant needs the platform permission', {
          permission: PLATFORM_PERMISSION,
          errors: [{ field: 'backupId', rule: 'backup.platform_permission', message: 'the backup holds every tenant' }],
        });
      // A files/full backup carries the instance's data directory (key material too, when encrypted): as its
      // creation, its restore needs the platform permission.
      if (!platform && (await readManifest(deps.storage, backupId).catch(() => undefined))?.chunks.some((chunk) => chunk.item === 'files'))
        throw new HttpProblem(403, 'backup.platform_permission', 'a restore of a backup holding files needs the platform permission', {
          permission: PLATFORM_PERMISSION,
          errors: [{ field: 'backupId', rule: 'backup.platform_permission', message: 'the backup holds the files part (files or full)' }],
        });
      let target: RestoreTargetSpec;
      if (asked.databaseUrl !== undefined) {
        const field = 'body.target.databaseUrl';
        if (!platform)
          throw new HttpProblem(403, 'restore.target.platform_permission', 'a database as restore target needs the platform permission', {
            permission: PLATFORM_PERMISSION,
            errors: [{ field, rule: 'restore.target.platform_permission', message: 'use target.dataDirectory' }],
          });
        let url: URL;
        try {
          url = new URL(asked.databaseUrl);
        } catch {
          throw problem(400, 'restore.target.url', field, 'not a URL');
        }
        if (url.password)
          throw problem(400, 'restore.target.password', field, 'the URL must not carry a password: it would be recorded with the restore');
        if (deps.isLiveDatabase(asked.databaseUrl))
          throw problem(409, 'restore.target.live', field, "the target is this service's own database");
        target = { kind: 'database', url: url.toString() };
      } else target = { kind: 'directory', path: deps.directoryFor(principal.tenantId, asked.dataDirectory!) };
      const field = target.kind === 'database' ? 'body.target.databaseUrl' : 'body.target.dataDirectory';
      const inspected = await deps.inspectTarget(target);
      if (inspected.state === 'not_empty')
        throw problem(409, 'restore.target.not_empty', field, `a restore goes only into an empty target: ${inspected.detail}`);
      if (inspected.state === 'unreachable')
        throw problem(400, 'restore.target.unreachable', field, `cannot reach the target: ${inspected.detail}`);

      const toPosition = positionText ? parsePosition(positionText) : undefined;
      const toTime = timeText ? new Date(timeText) : undefined;
      try {
        await checkRestoreRequest(
          deps.storage,
          deps.key,
          { backupId, ...(toPosition ? { toPosition } : {}), ...(toTime ? { toTime } : {}) },
          deps.commands.clock(),
        );
      } catch (error) {
        if (error instanceof RestoreRangeError) throw problem(400, `restore.${error.field}.range`, `body.${error.field}`, error.message);
        if (error instanceof BackupChainError) {
          if (error.reason === 'not_found') throw backupNotFound();
          throw problem(409, `restore.chain.${error.reason}`, 'backupId', error.message);
        }
        throw error;
      }
      const { restoreId, result } = await requestRestore(deps.commands, commandContextOf(request), {
        backupId,
        backupTenantId,
        target,
        ...(toPosition ? { toPosition } : {}),
        ...(toTime ? { toTime } : {}),
      });
      reply.header('location', `/v1/restores/${restoreId}`);
      return reply.code(202).send({ restoreId, backupId, status: 'queued' as const, ...commandAccepted(reply, result) });
    },
  );

  routes.get(
    '/v1/restores',
    {
      config: { permission: 'backups:read' },
      schema: {
        tags,
        summary: "Your tenant's restores, newest first; filters status, backupId, from/to (requested); paged",
        querystring: restoreListQuery,
        response: { 200: restoreListResponse },
      },
    },
    async (request) => {
      const { minPosition, from, to, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listRestores(deps.db.kysely, principalOf(request).tenantId, {
        ...filter,
        ...(from ? { from: new Date(from) } : {}),
        ...(to ? { to: new Date(to) } : {}),
      });
    },
  );

  routes.get(
    '/v1/restores/:restoreId',
    {
      config: { permission: 'backups:read' },
      schema: {
        tags,
        summary: 'One restore: status, events restored, range, duration, error (ETag = revision)',
        params: restoreParams,
        querystring: oneRestoreQuery,
        response: { 200: restoreResponse },
      },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getRestore(deps.db.kysely, principalOf(request).tenantId, request.params.restoreId);
      if (!found) throw notFoundOf(RESTORE_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found);
    },
  );
}

export async function restoreRoutes(app: FastifyInstance, deps: RestoreRouteDeps): Promise<void> {
  await app.register(restoreRoutesPlugin, deps);
}
