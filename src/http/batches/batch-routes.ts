// Batch operations: start (or dry-run) a batch of template commands, follow its progress, cancel, retry
// and undo it. Commands need `templates:write` (a batch runs template commands on the caller's behalf),
// queries `templates:read`. Shapes are checked by the batch domain, which names the item by index and
// field ('body.items.3.templateId'); another tenant's batch is 404.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { cancelBatch, retryBatch, startBatch, undoBatch, type BatchCommandDeps } from '../../commands/batches/batch-commands.js';
import {
  BATCH_OPERATIONS,
  BATCH_STATUSES,
  BatchConflictViolation,
  BatchUndoViolation,
  CONFLICT_RESOLUTIONS,
  ITEM_STATUSES,
} from '../../domain/batches/index.js';
import { formatPosition, type EventStore } from '../../ports/event-store.js';
import { batchAsOf } from '../../projections/batches/batch-as-of.js';
import { asOfQuery } from '../templates/schemas.js';
import { MAX_SCHEDULE_AHEAD_DAYS } from '../../domain/schedule-horizon.js';
import { getBatch, listBatchItems, listBatches } from '../../projections/batches/batch-queries.js';
import { principalOf } from '../auth.js';
import { commandContextOf } from '../command-context.js';
import { apiSchemas, jsonValue } from '../openapi.js';
import { itemsPerOperation } from './batch-item-schemas.js';
import { commandHeaders } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery, type ReadYourWrites } from '../read-your-writes.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BATCH_CATEGORY } from '../../domain/batches/batch-streams.js';

export interface BatchRouteDeps {
  readonly commands: BatchCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  /** `?asOf=` folds the batch's stream. */
  readonly eventStore: Pick<EventStore, 'readStream'>;
}

const PROJECTIONS = ['batches'] as const;
const tags = ['batches'];
const write = { permission: 'templates:write' } as const;
const read = { permission: 'templates:read' } as const;

const options = z
  .strictObject({
    chunkSize: z.number().optional().describe('items per chunk, 1–10000 (default 100)'),
    concurrency: z.number().optional().describe('items of a chunk run at once, 1–100 (default 4)'),
    conflictResolution: z.enum(CONFLICT_RESOLUTIONS).optional().describe('default abort'),
    priority: z.number().optional().describe('1 runs first … 10 last (default 5)'),
    maxAttempts: z.number().optional().describe('runs of an item whose failure is retryable, 1–10 (default 3)'),
    scheduledAt: z
      .string()
      .nullable()
      .optional()
      .describe(
        `ISO-8601 instant in the future, at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead (400 batch.scheduled_at.too_far beyond); null starts at once`,
      ),
    dryRun: z.boolean().optional().describe('answer the conflict report and impact; write nothing'),
  })
  .optional();

const startBody = z.strictObject({
  batchId: z.uuid().optional(),
  operation: z.enum(BATCH_OPERATIONS).describe('delete is a soft delete; undo brings the templates back'),
  items: z
    .array(z.unknown())
    .describe(
      'Per operation (see oneOf): create: BatchCreateItem (templateId optional, derived from the batch id and the index); update: BatchUpdateItem; changeParent: BatchChangeParentItem; archive, delete: BatchTargetItem',
    ),
  sharedChanges: z.record(z.string(), jsonValue).optional().describe('update only: one change for every item without its own changes'),
  options,
});
// The documents' converter reads metadata from apiSchemas only: the per-operation items go there.
apiSchemas.add(startBody, itemsPerOperation as { description?: string });

const idParams = z.strictObject({ batchId: z.uuid() });
const accepted = z.object({
  batchId: z.string(),
  status: z.string(),
  revision: z.number().int(),
  position: z.string(),
});
const report = z.looseObject({ dryRun: z.literal(true) });
const progress = z.object({
  total: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  skipped: z.number(),
  cancelled: z.number(),
  pending: z.number(),
  queued: z.number(),
  percentage: z.number(),
  throughputPerSecond: z.number().nullable(),
  etaSeconds: z.number().int().nullable().describe('Whole seconds left at the current throughput (rounded up); null until known'),
});
const batchView = z.object({
  batchId: z.string(),
  operation: z.string(),
  status: z.enum(BATCH_STATUSES),
  progress,
  conflicts: z.object({ total: z.number().int(), items: z.array(jsonValue) }),
  options: z.record(z.string(), jsonValue),
  requestedBy: z.string(),
  requestedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  undoOf: z.string().nullable(),
  undoneBy: z.string().nullable(),
  round: z.number().int(),
  revision: z.number().int(),
});
const itemView = z.object({
  index: z.number().int(),
  templateId: z.string(),
  status: z.enum(ITEM_STATUSES),
  attempts: z.number().int(),
  error: z.string().nullable(),
  revisionBefore: z.number().int().nullable(),
  revision: z.number().int().nullable(),
  conflicts: z.array(jsonValue),
  updatedAt: z.string(),
});

/** Refusals that carry a list: the list goes into the problem body. */
async function withLists<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof BatchConflictViolation)
      throw new HttpProblem(409, error.rule, error.message, {
        rule: error.rule,
        conflicts: error.conflicts,
      });
    if (error instanceof BatchUndoViolation)
      throw new HttpProblem(409, error.rule, error.message, {
        rule: error.rule,
        changedSinceBatch: error.changedSinceBatch,
      });
    throw error;
  }
}

const notFound = () => notFoundOf(BATCH_CATEGORY);

export async function batchRoutes(app: FastifyInstance, deps: BatchRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const now = () => deps.commands.clock();

  routes.post(
    '/v1/batches',
    {
      config: { ...write, problems: [409, 422, 429] },
      schema: {
        tags,
        summary: 'Start a batch of template commands (202), or dry-run it (200, nothing written)',
        headers: commandHeaders,
        body: startBody,
        response: { 200: report, 202: accepted },
      },
    },
    async (request, reply) => {
      const started = await withLists(() =>
        startBatch(deps.commands, commandContextOf(request), request.body as Parameters<typeof startBatch>[2]),
      );
      if (started.dryRun) return reply.code(200).send({ dryRun: true, ...started.analysis });
      const { result, batchId } = started;
      const position = formatPosition(result.position);
      reply.header('location', `/v1/batches/${batchId}`).header('x-event-position', position);
      if (result.idempotent) reply.header('idempotent-replay', 'true');
      return reply.code(202).send({
        batchId,
        status: result.state.status,
        revision: Number(result.revision),
        position,
      });
    },
  );

  routes.get(
    '/v1/batches',
    {
      config: read,
      schema: {
        tags,
        summary: "The tenant's batches, newest first",
        querystring: z.strictObject({
          status: z.enum(BATCH_STATUSES).optional(),
          operation: z.enum([...BATCH_OPERATIONS, 'restore']).optional(),
          requestedFrom: z.iso.datetime({ offset: true }).optional(),
          requestedTo: z.iso.datetime({ offset: true }).optional(),
          ...pageQuery,
          minPosition: minPositionQuery,
        }),
        response: { 200: pageResponse(batchView) },
      },
    },
    async (request) => {
      const { minPosition, requestedFrom, requestedTo, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listBatches(
        deps.db.kysely,
        principalOf(request).tenantId,
        {
          ...filter,
          ...(requestedFrom ? { requestedFrom: new Date(requestedFrom) } : {}),
          ...(requestedTo ? { requestedTo: new Date(requestedTo) } : {}),
        },
        now(),
      );
    },
  );

  routes.get(
    '/v1/batches/:batchId',
    {
      config: read,
      schema: {
        tags,
        summary: 'A batch: status, progress, throughput, ETA, conflicts; asOf folds its history up to a moment',
        params: idParams,
        querystring: z.strictObject({ minPosition: minPositionQuery, asOf: asOfQuery }),
        response: { 200: batchView },
      },
    },
    async (request) => {
      if (request.query.asOf) {
        const asOf = await batchAsOf(deps.eventStore, principalOf(request).tenantId, request.params.batchId, request.query.asOf);
        if (asOf === 'absent') throw new HttpProblem(404, 'batch.not_found', 'no such batch at that moment');
        if (!asOf) throw notFound();
        return asOf;
      }
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const batch = await getBatch(deps.db.kysely, principalOf(request).tenantId, request.params.batchId, now());
      if (!batch) throw notFound();
      return batch;
    },
  );

  routes.get(
    '/v1/batches/:batchId/items',
    {
      config: read,
      schema: {
        tags,
        summary: "A batch's items with their outcome, error and conflicts",
        params: idParams,
        querystring: z.strictObject({
          outcome: z.enum(ITEM_STATUSES).optional(),
          ...pageQuery,
          minPosition: minPositionQuery,
        }),
        response: { 200: pageResponse(itemView) },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      const tenantId = principalOf(request).tenantId;
      if (!(await getBatch(deps.db.kysely, tenantId, request.params.batchId, now()))) throw notFound();
      return listBatchItems(deps.db.kysely, tenantId, request.params.batchId, filter);
    },
  );

  const commandReply = (reply: import('fastify').FastifyReply, batchId: string, result: Awaited<ReturnType<typeof cancelBatch>>) => {
    const position = formatPosition(result.position);
    reply.header('x-event-position', position);
    if (result.idempotent) reply.header('idempotent-replay', 'true');
    return {
      batchId,
      status: result.state.status,
      revision: Number(result.revision),
      position,
    };
  };

  routes.post(
    '/v1/batches/:batchId/cancel',
    {
      config: { ...write, problems: [409] },
      schema: {
        tags,
        summary: 'Cancel: queued chunks stop, running items finish',
        headers: commandHeaders,
        params: idParams,
        body: z.strictObject({ reason: z.string().max(500).optional() }).nullish(),
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const batchId = request.params.batchId.toLowerCase();
      const result = await cancelBatch(deps.commands, commandContextOf(request), batchId, request.body?.reason ?? null);
      return reply.send(commandReply(reply, batchId, result));
    },
  );

  routes.post(
    '/v1/batches/:batchId/retry',
    {
      config: { ...write, problems: [409] },
      schema: {
        tags,
        summary: 'Run failed items again (all, or the given indexes); an applied item is never applied twice',
        headers: commandHeaders,
        params: idParams,
        body: z
          .strictObject({
            indexes: z.array(z.number().int().min(0)).min(1).max(100_000).optional(),
          })
          .nullish(),
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const batchId = request.params.batchId.toLowerCase();
      const result = await retryBatch(deps.commands, commandContextOf(request), batchId, request.body?.indexes ?? null);
      return reply.code(202).send(commandReply(reply, batchId, result));
    },
  );

  routes.post(
    '/v1/batches/:batchId/undo',
    {
      config: { ...write, problems: [409] },
      schema: {
        tags,
        summary:
          'Undo: a new batch restores every template this one changed (refused, with the list, where a template changed since, unless override)',
        headers: commandHeaders,
        params: idParams,
        body: z
          .strictObject({
            override: z.boolean().optional(),
            dryRun: z.boolean().optional(),
          })
          .nullish(),
        response: { 200: report, 202: accepted.extend({ undoOf: z.string() }) },
      },
    },
    async (request, reply) => {
      const batchId = request.params.batchId.toLowerCase();
      const undone = await withLists(() =>
        undoBatch(deps.commands, commandContextOf(request), batchId, {
          override: request.body?.override ?? false,
          dryRun: request.body?.dryRun ?? false,
        }),
      );
      if (undone.dryRun) return reply.code(200).send({ dryRun: true, ...undone.preview });
      reply.header('location', `/v1/batches/${undone.undoBatchId}`);
      return reply.code(202).send({
        ...commandReply(reply, undone.undoBatchId, undone.result),
        undoOf: batchId,
      });
    },
  );
}
