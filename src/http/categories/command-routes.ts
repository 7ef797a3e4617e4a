// Category commands over HTTP (ETag/If-Match, Idempotency-Key). Registered under the /v1/categories prefix
// (see index.ts).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { archiveCategory, changeCategory, createCategory, restoreCategory } from '../../commands/categories/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandDeps } from '../../commands/handle-command.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom } from '../preconditions.js';
import { accepted, changeBody, createBody, idParams } from './schemas.js';

export interface CategoryCommandRouteDeps {
  readonly commands: CommandDeps;
}

const tags = ['categories'];
const write = { permission: 'categories:write' } as const;

export async function categoryCommandRoutes(app: FastifyInstance, deps: CategoryCommandRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a category (name unique per tenant among active categories)',
        headers: commandHeaders,
        body: createBody,
        response: { 201: accepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const categoryId = request.body.categoryId ?? deterministicUuid(`category:${context.tenantId}`, context.commandId);
      const result = await createCategory(deps.commands, context, {
        categoryId,
        name: request.body.name,
        description: request.body.description ?? '',
      });
      reply.header('location', `/v1/categories/${categoryId}`);
      return reply.code(201).send({ categoryId, ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/:categoryId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Rename and/or describe a category',
        headers: commandHeaders,
        params: idParams,
        body: changeBody,
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
      `/:categoryId/${action}`,
      {
        config: write,
        schema: {
          tags,
          summary: `${action === 'archive' ? 'Archive' : 'Restore'} a category`,
          headers: commandHeaders,
          params: idParams,
          response: { 200: accepted },
        },
      },
      async (request, reply) => {
        const expectedRevision = expectedRevisionFrom(request);
        const { categoryId } = request.params;
        const result = await run(deps.commands, commandContextOf(request), {
          categoryId,
          ...(expectedRevision !== undefined ? { expectedRevision } : {}),
        });
        return reply.send({ categoryId, ...commandAccepted(reply, result) });
      },
    );
  }
}
