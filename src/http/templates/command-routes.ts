// Template commands over HTTP: ETag/If-Match, Idempotency-Key, one rate budget per tenant. Registered under
// the /v1/templates prefix (see index.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  addTemplateTags,
  changeTemplateParent,
  changeTemplateStatus,
  createTemplate,
  deleteTemplate,
  favoriteTemplate,
  recordTemplateUsage,
  removeTemplateTags,
  restoreTemplateVersion,
  undeleteTemplate,
  updateTemplate,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateSideEffectResult,
} from '../../commands/templates/index.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { accepted, createBody, idParams, parentBody, tagKeysBody, tagsBody, updateBody, usageBody, versionParams } from './schemas.js';

export interface TemplateCommandRouteDeps {
  readonly commands: TemplateCommandDeps;
  /** Template commands per tenant per minute. */
  readonly opsPerMinute: number;
}

const tags = ['templates'];
const write = { permission: 'templates:write' } as const;
const read = { permission: 'templates:read' } as const;

/**
 * One budget per tenant shared by every template command, in the same store as the global limit (the
 * plugin's per-route limits would count each route apart). Runs after authentication and permissions, on
 * every route of the context it is added to that is not a GET.
 */
export function limitTemplateCommands(app: FastifyInstance, opsPerMinute: number): void {
  const opsLimit = app.createRateLimit({
    max: opsPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `template-ops:${principalOf(request).tenantId}`,
  });
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET') return;
    const verdict = await opsLimit(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    reply.header('retry-after', String(verdict.ttlInSeconds));
    throw new HttpProblem(
      429,
      'template.rate_limit',
      `at most ${verdict.max} template commands per minute per tenant; retry in ${verdict.ttlInSeconds} s`,
    );
  });
}

function accept(reply: FastifyReply, templateId: string, result: TemplateCommandResult | TemplateSideEffectResult) {
  const version = 'state' in result ? (result.state.status === 'absent' ? null : result.state.version) : result.version;
  return { templateId, version, ...commandAccepted(reply, result) };
}

const target = (request: FastifyRequest, templateId: string) => {
  const expectedRevision = expectedRevisionFrom(request);
  return { templateId: templateId.toLowerCase(), ...(expectedRevision !== undefined ? { expectedRevision } : {}) };
};

export async function templateCommandRoutes(app: FastifyInstance, deps: TemplateCommandRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a template (starts as draft)',
        headers: commandHeaders,
        body: createBody,
        response: { 201: accepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { isSystemTemplate, templateId: given, ...fields } = request.body;
      if (isSystemTemplate && !hasPermission(principalOf(request), PLATFORM_PERMISSION)) {
        throw new HttpProblem(403, 'template.system.permission', 'creating a system template needs the platform permission');
      }
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const templateId = (given ?? deterministicUuid(`template:${context.tenantId}`, context.commandId)).toLowerCase();
      const result = await createTemplate(deps.commands, context, {
        ...fields,
        templateId,
        ...(isSystemTemplate !== undefined ? { isSystemTemplate } : {}),
      });
      reply.header('location', `/v1/templates/${templateId}`);
      return reply.code(201).send(accept(reply, templateId, result));
    },
  );

  routes.patch(
    '/:templateId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Change some fields (a new version)',
        headers: commandHeaders,
        params: idParams,
        body: updateBody,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await updateTemplate(deps.commands, commandContextOf(request), { ...t, changes: request.body });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.put(
    '/:templateId/parent',
    {
      config: write,
      schema: {
        tags,
        summary: 'Set or clear the parent (same tenant, public or system; ≤ 10 levels; no cycles)',
        headers: commandHeaders,
        params: idParams,
        body: parentBody,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await changeTemplateParent(deps.commands, commandContextOf(request), {
        ...t,
        parentTemplateId: request.body.parentTemplateId,
      });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  for (const action of ['activate', 'archive', 'deprecate', 'unarchive'] as const) {
    routes.post(
      `/:templateId/${action}`,
      {
        config: write,
        schema: {
          tags,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a template`,
          headers: commandHeaders,
          params: idParams,
          response: { 200: accepted },
        },
      },
      async (request, reply) => {
        const t = target(request, request.params.templateId);
        const result = await changeTemplateStatus(deps.commands, commandContextOf(request), { ...t, action });
        return reply.send(accept(reply, t.templateId, result));
      },
    );
  }

  routes.delete(
    '/:templateId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete a template (soft: its history stays; refused while children that are not archived inherit from it)',
        description:
          'The template then reads as 404 and leaves search, stats and lists; its name is free again. 409 template.delete.active_children lists the children; system templates are read-only (403).',
        headers: commandHeaders,
        params: idParams,
        response: { 204: z.null().describe('Deleted; ETag and X-Event-Position as for every command') },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await deleteTemplate(deps.commands, commandContextOf(request), t);
      commandAccepted(reply, result);
      return reply.code(204).send(null);
    },
  );

  routes.post(
    '/:templateId/undelete',
    {
      config: write,
      schema: {
        tags,
        summary: 'Bring a deleted template back, in the status it had (its name must still be free)',
        headers: commandHeaders,
        params: idParams,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await undeleteTemplate(deps.commands, commandContextOf(request), t);
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.post(
    '/:templateId/versions/:version/restore',
    {
      config: write,
      schema: {
        tags,
        summary: 'Append a new version equal to an earlier one',
        headers: commandHeaders,
        params: versionParams,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await restoreTemplateVersion(deps.commands, commandContextOf(request), { ...t, version: request.params.version });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.post(
    '/:templateId/tags',
    {
      config: write,
      schema: { tags, summary: 'Add tags', headers: commandHeaders, params: idParams, body: tagsBody, response: { 200: accepted } },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await addTemplateTags(deps.commands, commandContextOf(request), { ...t, tags: request.body.tags });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.post(
    '/:templateId/tags/remove',
    {
      config: write,
      schema: {
        tags,
        summary: 'Remove tags (by type and name)',
        headers: commandHeaders,
        params: idParams,
        body: tagKeysBody,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await removeTemplateTags(deps.commands, commandContextOf(request), { ...t, tags: request.body.tags });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  for (const [method, favorite] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    routes[method](
      '/:templateId/favorite',
      {
        config: read,
        schema: {
          tags,
          summary: favorite ? 'Favorite (for the caller)' : 'Unfavorite',
          headers: commandHeaders,
          params: idParams,
          response: { 200: accepted },
        },
      },
      async (request, reply) => {
        const t = target(request, request.params.templateId);
        const result = await favoriteTemplate(deps.commands, commandContextOf(request), { ...t, favorite });
        return reply.send(accept(reply, t.templateId, result));
      },
    );
  }

  routes.post(
    '/:templateId/usages',
    {
      config: write,
      schema: {
        tags,
        summary: 'Record a usage (active or deprecated templates)',
        headers: commandHeaders,
        params: idParams,
        body: usageBody,
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await recordTemplateUsage(deps.commands, commandContextOf(request), { ...t, usage: request.body });
      return reply.send(accept(reply, t.templateId, result));
    },
  );
}
