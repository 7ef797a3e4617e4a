// API key administration. A tenant admin manages its own tenant's keys; a `platform` key may create, list
// and revoke keys of any tenant (the bootstrap key has it, so the first tenant can be set up).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeyStore } from '../../ports/api-keys.js';
import {
  PERMISSIONS,
  PLATFORM_PERMISSION,
  TENANT_ID_PATTERN,
  hasPermission,
  permissionProblem,
  type Permission,
} from '../../domain/principal.js';
import { principalOf } from '../auth.js';
import { pageOf, pageOffset } from '../../projections/paging.js';
import { pageQuery, pageResponse } from '../paging.js';
import { HttpProblem } from '../problem.js';

// Only the permissions routes check (the domain's one list): a key with `batches:write` would look granted
// and open nothing. The refusal names the unknown area or action.
const permission = z.enum(PERMISSIONS as readonly [Permission, ...Permission[]], {
  error: (issue) => (typeof issue.input === 'string' ? permissionProblem(issue.input) : undefined) ?? 'must be a permission',
});

export async function apiKeyRoutes(app: FastifyInstance, deps: { apiKeys: ApiKeyStore }): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/v1/api-keys',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Create an API key; the key is shown once in the response',
        body: z.strictObject({
          name: z.string().trim().min(1).max(100),
          userId: z.string().min(1).max(200).optional().describe('Defaults to the caller'),
          tenantId: z.string().regex(TENANT_ID_PATTERN).optional().describe('Another tenant needs the platform permission'),
          permissions: z.array(permission).min(1).max(50),
        }),
        response: {
          201: z.object({
            keyId: z.string(),
            apiKey: z.string(),
            tenantId: z.string(),
            userId: z.string(),
            permissions: z.array(z.string()),
          }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const tenantId = request.body.tenantId ?? principal.tenantId;
      const crossTenant = tenantId !== principal.tenantId;
      if ((crossTenant || request.body.permissions.includes(PLATFORM_PERMISSION)) && !hasPermission(principal, PLATFORM_PERMISSION)) {
        throw new HttpProblem(
          403,
          'auth.permission',
          'creating keys for another tenant or with the platform permission needs the platform permission',
          {
            errors: [
              {
                field: crossTenant ? 'body.tenantId' : 'body.permissions',
                rule: 'auth.platform',
                message: 'needs the platform permission',
              },
            ],
          },
        );
      }
      const userId = request.body.userId ?? principal.userId;
      const created = await deps.apiKeys.create({ tenantId, userId, name: request.body.name, permissions: request.body.permissions });
      return reply.code(201).send({ ...created, tenantId, userId, permissions: request.body.permissions });
    },
  );

  routes.get(
    '/v1/api-keys',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: "List a tenant's API keys (never their secrets), oldest first, revoked ones included",
        querystring: z.strictObject({
          ...pageQuery,
          tenantId: z.string().regex(TENANT_ID_PATTERN).optional().describe('Another tenant needs the platform permission; default: yours'),
        }),
        response: {
          200: pageResponse(
            z.object({
              keyId: z.string(),
              name: z.string(),
              tenantId: z.string(),
              userId: z.string(),
              permissions: z.array(z.string()),
              createdAt: z.string(),
              revokedAt: z.string().nullable(),
            }),
          ),
        },
      },
    },
    async (request) => {
      const page = request.query;
      const principal = principalOf(request);
      const tenantId = page.tenantId ?? principal.tenantId;
      if (tenantId !== principal.tenantId && !hasPermission(principal, PLATFORM_PERMISSION)) {
        throw new HttpProblem(403, 'auth.permission', "listing another tenant's keys needs the platform permission", {
          errors: [{ field: 'query.tenantId', rule: 'auth.platform', message: 'needs the platform permission' }],
        });
      }
      const { keys, total } = await deps.apiKeys.list(tenantId, { offset: pageOffset(page), limit: page.pageSize });
      return pageOf(
        keys.map((key) => ({ ...key, permissions: [...key.permissions] })),
        total,
        page,
      );
    },
  );

  routes.delete(
    '/v1/api-keys/:keyId',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API key of your tenant (any tenant with the platform permission)',
        params: z.strictObject({ keyId: z.string().regex(/^[a-z0-9]{12}$/) }),
        response: { 204: z.undefined().describe('Revoked; no body') },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // A platform key creates keys for other tenants, so it must be able to take them back.
      const scope = hasPermission(principal, PLATFORM_PERMISSION) ? undefined : principal.tenantId;
      const revoked = await deps.apiKeys.revoke(scope, request.params.keyId);
      if (!revoked) throw new HttpProblem(404, 'api_key.not_found', 'no such active key in your tenant');
      return reply.code(204).send();
    },
  );
}
