// Tenant point-in-time restore over HTTP: POST /v1/tenant-restores (a bounded dry run answered at once, or a
// request a job runs: 202 queued) and GET its record (queued → running → completed / partially_failed /
// failed). A tenant admin restores its own tenant; another tenant's restore is 404.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  loadTenantRestore,
  planTenantRestore,
  recordPosition,
  requestTenantRestore,
  type RestoreTarget,
} from '../../commands/tenant-restores/index.js';
import type { TemplateCommandDeps } from '../../commands/templates/template-access.js';
import { RESTORABLE_TYPES, RESTORE_ACTIONS, type TenantRestoreState } from '../../domain/tenant-restores/index.js';
import { parsePosition } from '../../ports/event-store.js';
import { positionText } from '../audit/schemas.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders } from '../preconditions.js';
import { notFoundOf } from '../../domain/not-found.js';
import { TENANT_RESTORE_CATEGORY } from '../../domain/tenant-restores/tenant-restore-record.js';

export interface TenantRestoreRouteDeps {
  readonly commands: TemplateCommandDeps;
  /** TENANT_RESTORE_DRY_RUN_MAX: the most aggregates one dry run plans. */
  readonly dryRunMaxAggregates: number;
}

export const TENANT_RESTORES_PREFIX = '/v1/tenant-restores';
/** The most aggregates one request may name. */
export const TENANT_RESTORE_IDS_MAX = 10_000;
const tags = ['tenant-restores'];
const admin = { permission: 'admin' } as const;

const body = z
  .strictObject({
    restoreId: z
      .uuid()
      .optional()
      .describe('Names the restore (default: from the Idempotency-Key, else new); the same id again appends nothing'),
    at: z.iso.datetime({ offset: true }).optional().describe('Restore to the state at this instant'),
    position: positionText.optional().describe('Or: restore to the state at this global position (inclusive)'),
    types: z.array(z.enum(RESTORABLE_TYPES)).min(1).max(RESTORABLE_TYPES.length).optional().describe('Aggregate types (default: all)'),
    ids: z.array(z.uuid()).min(1).max(TENANT_RESTORE_IDS_MAX).optional().describe('Only these aggregates (default: all of the types)'),
    dryRun: z
      .boolean()
      .default(false)
      .describe('List what would change, at once; write nothing. At most TENANT_RESTORE_DRY_RUN_MAX aggregates (422 beyond)'),
  })
  .superRefine((value, context) => {
    if ((value.at === undefined) === (value.position === undefined))
      context.addIssue({ code: 'custom', path: ['at'], message: 'give exactly one of at and position' });
  });

const change = z.object({
  aggregateType: z.enum(RESTORABLE_TYPES),
  aggregateId: z.string(),
  action: z.enum(RESTORE_ACTIONS),
  changed: z.array(z.string()),
  steps: z.array(z.string()),
});
const dryRunResponse = z.object({ dryRun: z.literal(true), changes: z.array(change), unchanged: z.number().int() });

const TENANT_RESTORE_STATUSES = ['queued', 'running', 'completed', 'partially_failed', 'failed'] as const;
const status = z
  .enum(TENANT_RESTORE_STATUSES)
  .describe(
    '`queued` until a worker starts it (LONG_JOBS_PER_TENANT per tenant, LONG_JOBS_TOTAL per instance), then `running`, then ' +
      '`completed`, `partially_failed` (see result.failures) or `failed` (refused whole, or its job ran out of attempts: see error)',
  );

const accepted = z.object({
  restoreId: z.string(),
  status: status.describe('`queued` for a new restore; the same restore id again answers its status as it is'),
  revision: z.number().int(),
  position: z.string().describe('The position of the request, for read-your-writes'),
});

const record = z.object({
  restoreId: z.string(),
  status,
  at: z.string().nullable(),
  position: z.string().nullable(),
  types: z.array(z.string()),
  ids: z.array(z.string()),
  planned: z.number().int().nullable().describe('Aggregates that change; null until the worker planned it'),
  requestedAt: z.string().nullable().describe('Null for a restore recorded before restores were queued'),
  startedAt: z.string().nullable(),
  result: z
    .object({
      outcome: z.string(),
      archived: z.number().int(),
      restored: z.number().int(),
      unchanged: z.number().int(),
      failures: z.array(z.object({ aggregateType: z.string(), aggregateId: z.string(), rule: z.string(), reason: z.string() })),
      finishedAt: z.string(),
    })
    .nullable(),
  error: z.object({ rule: z.string(), reason: z.string(), finishedAt: z.string() }).nullable(),
  eventPosition: z
    .string()
    .nullable()
    .describe(
      "The position of the restore record's last event, for read-your-writes (minPosition); the same in the POST's answer and here",
    ),
});

const recordView = (state: Exclude<TenantRestoreState, { status: 'absent' }>, eventPosition: string | null): z.infer<typeof record> => ({
  restoreId: state.restoreId,
  status: state.status,
  at: state.at,
  position: state.position,
  types: state.types,
  ids: state.ids,
  planned: state.planned,
  requestedAt: state.requestedAt,
  startedAt: state.startedAt,
  result: 'result' in state ? state.result : null,
  error: 'error' in state ? state.error : null,
  eventPosition,
});

export async function tenantRestoreRoutes(app: FastifyInstance, deps: TenantRestoreRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: { ...admin, problems: [409, 422] },
      schema: {
        tags,
        summary: "Restore your tenant's categories and templates to a moment or position, by appending events (202; a job runs it)",
        description:
          'Aggregates created after the target are archived, changed ones get restore events carrying their state at the target; ' +
          'history is never rewritten. 400 for a target in the future or before your first event, checked here. The restore runs ' +
          'as a job when its turn comes (202 `queued`, `Location`; GET shows `running`, then the outcome): per-aggregate refusals ' +
          '(a name taken since) are in `result.failures` with status `partially_failed`; a pruned history (deleted streams) fails it ' +
          'whole (`failed`, error.rule `tenant_restore.log_pruned`). `dryRun` answers 200 with the changes at once, for at most ' +
          'TENANT_RESTORE_DRY_RUN_MAX aggregates (422 `tenant_restore.dry_run.too_many` beyond: narrow with types or ids; 409 ' +
          '`tenant_restore.log_pruned`).',
        headers: commandHeaders,
        body,
        response: {
          200: dryRunResponse,
          202: accepted,
        },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { at, position, types, ids, dryRun } = request.body;
      const target: RestoreTarget = at ? { at: new Date(at) } : { position: parsePosition(position!)! };
      const restoreId = request.body.restoreId ?? deterministicUuid('tenant-restore-request', context.commandId);
      const asked = { restoreId, target, ...(types ? { types } : {}), ...(ids ? { ids } : {}) };
      if (dryRun) {
        const plan = await planTenantRestore(deps.commands, context.tenantId, asked, deps.dryRunMaxAggregates);
        const changes = plan.changes.map((entry) => ({ ...entry, changed: [...entry.changed], steps: [...entry.steps] }));
        return reply.code(200).send({ dryRun: true as const, changes, unchanged: plan.unchanged });
      }
      const result = await requestTenantRestore(deps.commands, context, asked);
      if (result.state.status === 'absent') throw notFoundOf(TENANT_RESTORE_CATEGORY);
      reply.header('location', `${TENANT_RESTORES_PREFIX}/${restoreId}`);
      return reply.code(202).send({ restoreId, status: result.state.status, ...commandAccepted(reply, result) });
    },
  );

  routes.get(
    '/:restoreId',
    {
      config: admin,
      schema: {
        tags,
        summary: 'A tenant restore: its target, status and outcome',
        params: z.strictObject({ restoreId: z.uuid() }),
        response: { 200: record },
      },
    },
    async (request) => {
      const loaded = await loadTenantRestore(deps.commands, principalOf(request).tenantId, request.params.restoreId);
      if (loaded.state.status === 'absent') throw notFoundOf(TENANT_RESTORE_CATEGORY);
      return recordView(loaded.state, recordPosition(loaded));
    },
  );
}

export async function tenantRestoreHttp(app: FastifyInstance, deps: TenantRestoreRouteDeps): Promise<void> {
  await app.register(tenantRestoreRoutes, { ...deps, prefix: TENANT_RESTORES_PREFIX });
}
