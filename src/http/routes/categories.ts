// Course categories: the sample aggregate that exercises the whole path (command → event → projection →
// query with read-your-writes).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { archiveCategory, changeCategory, createCategory, restoreCategory } from '../../commands/categories/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { getCategory, listCategories } from '../../projections/categories/category-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery, type ReadYourWrites } from '../read-your-writes.js';

export interface CategoryRouteDeps {
  readonly commands: CommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

const PROJECTIONS = ['categories'] as const;
const name = z.string().trim().min(1).max(100);
const description = z.string().max(2000);
const idParams = z.strictObject({ categoryId: z.uuid() });
const accepted = z.object({ categoryId: z.string(), revision: z.number().int(), position: z.string() });
const category = z.object({
  categoryId: z.string(),
  name: z.string(),
  description: z.string(),
  status: z.enum(['active', 'archived']),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

export async function categoryRoutes(app: FastifyInstance, deps: CategoryRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['categories'];

  routes.post(
    '/v1/categories',
    {
      config: { permission: 'categories:write' },
      schema: {
        tags,
        summary: 'Create a category (name unique per tenant among active categories)',
        headers: commandHeaders,
        body: z.strictObject({ categoryId: z.uuid().optional(), name, description: description.optional() }),
        response: { 201: accepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const categoryId = request.body.categoryId ?? deterministicUuid(`category:${context.tenantId}`, context.commandId);
      const result = await createCategory(deps.commands, context, { categoryId, name: request.body.name, description: request.body.description ?? '' });
      reply.header('location', `/v1/categories/${categoryId}`);
      return reply.code(201).send({ categoryId, ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/v1/categories/:categoryId',
    {
      config: { permission: 'categories:write' },
      schema: {
        tags,
        summary: 'Rename and/or describe a category',
        headers: commandHeaders,
        params: idParams,
        body: z.strictObject({ name: name.optional(), description: description.optional() }).refine((b) => b.name !== undefined || b.description !== undefined, {
          message: 'give name, description or both',
        }),
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const { categoryId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      // One command for both changes: a request takes effect whole or not at all.
      const result = await changeCategory(deps.commands, commandContextOf(request), {
        categoryId,
        ...(request.body.name !== undefined ? { name: request.body.name } : {}),
        ...(request.body.description !== undefined ? { description: request.body.description } : {}),
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ categoryId, ...commandAccepted(reply, result) });
    },
  );

  for (const [action, run] of [
    ['archive', archiveCategory],
    ['restore', restoreCategory],
  ] as const) {
    routes.post(
      `/v1/categories/:categoryId/${action}`,
      {
        config: { permission: 'categories:write' },
        schema: { tags, summary: `${action === 'archive' ? 'Archive' : 'Restore'} a category`, headers: commandHeaders, params: idParams, response: { 200: accepted } },
      },
      async (request, reply) => {
        const expectedRevision = expectedRevisionFrom(request);
        const { categoryId } = request.params;
        const result = await run(deps.commands, commandContextOf(request), { categoryId, ...(expectedRevision !== undefined ? { expectedRevision } : {}) });
        return reply.send({ categoryId, ...commandAccepted(reply, result) });
      },
    );
  }

  routes.get(
    '/v1/categories/:categoryId',
    {
      config: { permission: 'categories:read' },
      schema: { tags, summary: 'One category (ETag = revision)', params: idParams, querystring: z.strictObject({ minPosition: minPositionQuery }), response: { 200: category } },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getCategory(deps.db.kysely, principalOf(request).tenantId, request.params.categoryId);
      if (!found) throw new HttpProblem(404, 'category.not_found', 'no such category');
      setEtag(reply, found.revision);
      return reply.send(found);
    },
  );

  routes.get(
    '/v1/categories',
    {
      config: { permission: 'categories:read' },
      schema: {
        tags,
        summary: 'List categories of your tenant, by name, a page at a time',
        querystring: z.strictObject({
          status: z.enum(['active', 'archived']).optional(),
          q: z.string().trim().min(1).max(100).optional().describe('Case-insensitive substring of the name'),
          ...pageQuery,
          minPosition: minPositionQuery,
        }),
        response: { 200: pageResponse(category) },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listCategories(deps.db.kysely, principalOf(request).tenantId, filter);
    },
  );
}
