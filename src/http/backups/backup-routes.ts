// Backups over HTTP under /v1/backups: request (202, the worker runs it), list, get, delete, validate.
// A tenant admin backs up its own tenant; every tenant, another tenant, and files or full backups (the data
// directory is shared by all tenants) need the platform permission. Another tenant's backup is 404.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  loadBackup,
  readManifest,
  requestBackup,
  runBackupCommand,
  validateBackup,
  type BackupKey,
  type BackupValidationResult,
} from '../../commands/backups/index.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getBackup, listBackups } from '../../projections/backups/backup-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { accepted, backupResponse, createBody, idParams, listQuery, listResponse, oneBackupQuery, validationResponse } from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BACKUP_CATEGORY } from '../../domain/backups/backup-streams.js';

export interface BackupRouteDeps {
  readonly commands: CommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  readonly storage: BackupStorage;
  readonly key?: BackupKey;
}

export const BACKUPS_PREFIX = '/v1/backups';
const PROJECTIONS = ['backups'] as const;
const tags = ['backups'];
const write = { permission: 'backups:write' } as const;
const read = { permission: 'backups:read' } as const;

const needsPlatform = (field: string, message: string) =>
  new HttpProblem(403, 'backup.platform_permission', message, {
    permission: PLATFORM_PERMISSION,
    errors: [{ field, rule: 'backup.platform_permission', message }],
  });

async function backupRoutesPlugin(app: FastifyInstance, deps: BackupRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Start a backup (database, files, configuration or full); runs in the background',
        headers: commandHeaders,
        body: createBody,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const platform = hasPermission(principal, PLATFORM_PERMISSION);
      const { name, type, scope, incremental } = request.body;
      if (scope?.allTenants && !platform)
        throw needsPlatform('body.scope.allTenants', 'a backup of every tenant needs the platform permission');
      if (scope?.tenantId && scope.tenantId !== principal.tenantId && !platform)
        throw needsPlatform('body.scope.tenantId', "a backup of another tenant's data needs the platform permission");
      if ((type === 'files' || type === 'full') && !platform)
        throw needsPlatform('body.type', `a ${type} backup holds every tenant's files and needs the platform permission`);
      const tenantId = scope?.allTenants ? undefined : (scope?.tenantId ?? principal.tenantId);
      const result = await requestBackup(deps.commands, commandContextOf(request), {
        name,
        type,
        scope: tenantId === undefined ? {} : { tenantId },
        ...(incremental !== undefined ? { incremental } : {}),
      });
      reply.header('location', `${BACKUPS_PREFIX}/${result.backupId}`);
      // Only recorded here: a worker runs it when its turn comes (BACKUP_JOBS_PER_TENANT, LONG_JOBS_TOTAL).
      return reply.code(202).send({ backupId: result.backupId, status: 'queued' as const, ...commandAccepted(reply, result) });
    },
  );

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'List the backups of your tenant, newest first, a page at a time',
        querystring: listQuery,
        response: { 200: listResponse },
      },
    },
    async (request) => {
      const { minPosition, from, to, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listBackups(deps.db.kysely, principalOf(request).tenantId, {
        ...filter,
        ...(from ? { from: new Date(from) } : {}),
        ...(to ? { to: new Date(to) } : {}),
      });
    },
  );

  routes.get(
    '/:backupId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One backup: status, size, checksum, location, duration, last validation and restore drill (ETag = revision)',
        params: idParams,
        querystring: oneBackupQuery,
        response: { 200: backupResponse },
      },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getBackup(deps.db.kysely, principalOf(request).tenantId, request.params.backupId);
      if (!found) throw notFoundOf(BACKUP_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found);
    },
  );

  routes.delete(
    '/:backupId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete a finished backup: it is unpublished (no longer listed nor restorable), then its objects are removed',
        headers: commandHeaders,
        params: idParams,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const expectedRevision = expectedRevisionFrom(request);
      const { backupId } = request.params;
      const result = await runBackupCommand(
        deps.commands,
        commandContextOf(request),
        backupId,
        { type: 'DeleteBackup', data: { deletedAt: deps.commands.clock().toISOString() } },
        expectedRevision === undefined ? {} : { expectedRevision },
      );
      const status = result.state.status === 'none' ? 'failed' : result.state.status;
      return reply.code(202).send({ backupId: backupId.toLowerCase(), status, ...commandAccepted(reply, result) });
    },
  );

  routes.post(
    '/:backupId/validate',
    {
      config: write,
      schema: {
        tags,
        summary: "Re-read every chunk: sha256, sizes, event count, positions in order and contiguous with the parent's",
        headers: commandHeaders,
        params: idParams,
        response: { 200: validationResponse },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { backupId } = request.params;
      const { state } = await loadBackup(deps.commands, context.tenantId, backupId);
      if (state.status === 'none' || state.deleted) throw notFoundOf(BACKUP_CATEGORY);
      if (state.status === 'running')
        throw new HttpProblem(409, 'backup.running', 'the backup is still running; validate it once it has finished');
      let result: BackupValidationResult;
      if (state.status === 'failed') {
        result = {
          valid: false,
          errors: [{ field: 'status', message: 'the backup failed and was never published', code: 'backup.failed' }],
          warnings: [],
        };
      } else {
        const manifest = await readManifest(deps.storage, state.backupId).catch((error: unknown) => error as Error);
        result = !manifest
          ? {
              valid: false,
              errors: [{ field: 'manifest', message: 'the manifest is not in the backup storage', code: 'manifest.missing' }],
              warnings: [],
            }
          : manifest instanceof Error
            ? { valid: false, errors: [{ field: 'manifest', message: manifest.message, code: 'manifest.invalid' }], warnings: [] }
            : await validateBackup(deps.storage, manifest, deps.key ? { key: deps.key } : {});
      }
      const recorded = await runBackupCommand(deps.commands, context, backupId, {
        type: 'RecordValidation',
        data: { ...result, validatedAt: deps.commands.clock().toISOString() },
      });
      // A replayed request answers with what was recorded the first time.
      const first = recorded.events.find((event) => event.type === 'BackupValidated');
      const answer = first && recorded.idempotent ? (first.data as unknown as BackupValidationResult) : result;
      return reply.send({
        backupId: state.backupId,
        valid: answer.valid,
        errors: answer.errors,
        warnings: answer.warnings,
        ...commandAccepted(reply, recorded),
      });
    },
  );
}

export async function backupRoutes(app: FastifyInstance, deps: BackupRouteDeps): Promise<void> {
  await app.register(backupRoutesPlugin, { ...deps, prefix: BACKUPS_PREFIX });
}
