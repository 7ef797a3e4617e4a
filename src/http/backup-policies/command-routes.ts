// Backup policy commands over HTTP (ETag/If-Match, Idempotency-Key). A tenant admin manages its own
// tenant's policies of database or configuration backups; a policy of every tenant, of another tenant, or
// of files or full backups needs the platform permission (to create it and to touch it afterwards).
// Another tenant's policy is 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  createBackupPolicy,
  deleteBackupPolicy,
  disableBackupPolicy,
  enableBackupPolicy,
  loadBackupPolicy,
  runBackupPolicy,
  updateBackupPolicy,
} from '../../commands/backup-policies/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { assertBackupPolicyExists, type BackupPolicySettings } from '../../domain/backup-policies/index.js';
import type { BackupScope, BackupType } from '../../domain/backups/index.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { accepted, changeBody, createBody, idParams, runAccepted } from './schemas.js';

export interface BackupPolicyCommandRouteDeps {
  readonly commands: CommandDeps;
  /** BACKUP_POLICY_MIN_INTERVAL_SECONDS: the shortest gap between two runs of a policy. */
  readonly minScheduleIntervalSeconds?: number;
}

const tags = ['backup-policies'];
const write = { permission: 'backups:write' } as const;

const needsPlatform = (field: string, message: string) =>
  new HttpProblem(403, 'backup_policy.platform_permission', message, {
    permission: PLATFORM_PERMISSION,
    errors: [{ field, rule: 'backup_policy.platform_permission', message }],
  });

/** The backed-up tenant a request's scope names (undefined: every tenant), refusing what needs the platform permission. */
function scopeOf(request: FastifyRequest, type: BackupType, scope: z.infer<typeof createBody>['scope'], field: string): BackupScope {
  const principal = principalOf(request);
  const platform = hasPermission(principal, PLATFORM_PERMISSION);
  if (scope?.allTenants && !platform) throw needsPlatform(`${field}.allTenants`, 'a policy for every tenant needs the platform permission');
  if (scope?.tenantId && scope.tenantId !== principal.tenantId && !platform)
    throw needsPlatform(`${field}.tenantId`, "a policy for another tenant's data needs the platform permission");
  if ((type === 'files' || type === 'full') && !platform)
    throw needsPlatform('body.type', `a ${type} backup holds every tenant's files and needs the platform permission`);
  const tenantId = scope?.allTenants ? undefined : (scope?.tenantId ?? principal.tenantId);
  return tenantId === undefined ? {} : { tenantId };
}

/** A policy someone created with the platform permission stays managed by the platform only. */
async function assertMayManage(request: FastifyRequest, deps: BackupPolicyCommandRouteDeps, policyId: string): Promise<void> {
  const principal = principalOf(request);
  if (hasPermission(principal, PLATFORM_PERMISSION)) return;
  const { state } = await loadBackupPolicy(deps.commands, principal.tenantId, policyId);
  assertBackupPolicyExists(state);
  if (state.scope.tenantId !== principal.tenantId || state.backupType === 'files' || state.backupType === 'full')
    throw needsPlatform('policyId', 'this policy covers more than your tenant and needs the platform permission');
}

export async function backupPolicyCommandRoutes(app: FastifyInstance, deps: BackupPolicyCommandRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const limits = deps.minScheduleIntervalSeconds !== undefined ? { minIntervalSeconds: deps.minScheduleIntervalSeconds } : {};

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a backup policy (name unique per tenant): what to back up, when, and what to keep',
        headers: commandHeaders,
        body: createBody,
        response: { 201: accepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const body = request.body;
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const policyId = (body.policyId ?? deterministicUuid(`backuppolicy:${context.tenantId}`, context.commandId)).toLowerCase();
      const result = await createBackupPolicy(
        deps.commands,
        context,
        {
          policyId,
          name: body.name,
          description: body.description ?? '',
          backupType: body.type,
          scope: scopeOf(request, body.type, body.scope, 'body.scope'),
          schedule: body.schedule,
          retention: body.retention,
          incremental: body.incremental ?? false,
          drillAfterBackup: body.drillAfterBackup ?? false,
          enabled: body.enabled ?? true,
        },
        limits,
      );
      reply.header('location', `/v1/backup-policies/${policyId}`);
      return reply.code(201).send({ policyId, ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/:policyId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Change a backup policy (any of its settings, in one event)',
        headers: commandHeaders,
        params: idParams,
        body: changeBody,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const { policyId } = request.params;
      await assertMayManage(request, deps, policyId);
      const { type, scope, ...rest } = request.body;
      const changes: Partial<BackupPolicySettings> = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
      if (type !== undefined) Object.assign(changes, { backupType: type });
      if (scope !== undefined || type !== undefined) {
        const { state } = await loadBackupPolicy(deps.commands, principalOf(request).tenantId, policyId);
        assertBackupPolicyExists(state);
        const scopeBody =
          scope ?? (state.scope.tenantId === undefined ? { allTenants: true as const } : { tenantId: state.scope.tenantId });
        Object.assign(changes, { scope: scopeOf(request, type ?? state.backupType, scopeBody, 'body.scope') });
      }
      const expectedRevision = expectedRevisionFrom(request);
      const result = await updateBackupPolicy(
        deps.commands,
        commandContextOf(request),
        { policyId, changes, ...(expectedRevision !== undefined ? { expectedRevision } : {}) },
        limits,
      );
      return reply.send({ policyId: policyId.toLowerCase(), ...commandAccepted(reply, result) });
    },
  );

  for (const [action, run, summary] of [
    ['enable', enableBackupPolicy, 'Enable a policy: its schedule counts from now (slots missed while disabled are not caught up)'],
    ['disable', disableBackupPolicy, 'Disable a policy: no scheduled runs until enabled again'],
  ] as const) {
    routes.post(
      `/:policyId/${action}`,
      { config: write, schema: { tags, summary, headers: commandHeaders, params: idParams, response: { 200: accepted } } },
      async (request, reply) => {
        const { policyId } = request.params;
        await assertMayManage(request, deps, policyId);
        const expectedRevision = expectedRevisionFrom(request);
        const result = await run(deps.commands, commandContextOf(request), {
          policyId,
          ...(expectedRevision !== undefined ? { expectedRevision } : {}),
        });
        return reply.send({ policyId: policyId.toLowerCase(), ...commandAccepted(reply, result) });
      },
    );
  }

  routes.delete(
    '/:policyId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete a policy (its backups stay; its name is free again)',
        headers: commandHeaders,
        params: idParams,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const { policyId } = request.params;
      await assertMayManage(request, deps, policyId);
      const expectedRevision = expectedRevisionFrom(request);
      const result = await deleteBackupPolicy(deps.commands, commandContextOf(request), {
        policyId,
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ policyId: policyId.toLowerCase(), ...commandAccepted(reply, result) });
    },
  );

  routes.post(
    '/:policyId/run',
    {
      config: write,
      schema: {
        tags,
        summary: "Run a policy now (202 with the backup's id); 409 while its last backup is still running",
        headers: commandHeaders,
        params: idParams,
        response: { 202: runAccepted },
      },
    },
    async (request, reply) => {
      const { policyId } = request.params;
      await assertMayManage(request, deps, policyId);
      const expectedRevision = expectedRevisionFrom(request);
      const outcome = await runBackupPolicy(
        deps.commands,
        commandContextOf(request),
        { policyId, ...(expectedRevision !== undefined ? { expectedRevision } : {}) },
        { trigger: 'manual' },
      );
      if (outcome.outcome !== 'started') throw new HttpProblem(409, 'backup_policy.run.running', 'the policy did not start a run');
      reply.header('location', `/v1/backups/${outcome.backupId}`);
      return reply.code(202).send({
        policyId: policyId.toLowerCase(),
        backupId: outcome.backupId,
        status: 'queued' as const,
        ...commandAccepted(reply, outcome.result),
      });
    },
  );
}
