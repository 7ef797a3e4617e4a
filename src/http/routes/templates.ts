// Course templates: command endpoints (ETag/If-Match, Idempotency-Key) and query endpoints over the
// template read models, with read-your-writes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { sharedSearchTag, templateReadModelTag, templateTag, tenantSearchTag } from '../../projections/templates/template-cache-tags.js';
import type { ReadCache } from '../../ports/read-cache.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  addTemplateTags,
  changeTemplateParent,
  changeTemplateStatus,
  createTemplate,
  favoriteTemplate,
  favoriteUserKey,
  recordTemplateUsage,
  removeTemplateTags,
  restoreTemplateVersion,
  updateTemplate,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateSideEffectResult,
} from '../../commands/templates.js';
import { hasPermission, PLATFORM_PERMISSION } from '../../domain/principal.js';
import {
  MERGE_STRATEGIES,
  SKILL_LEVELS,
  TAG_TYPES,
  TEMPLATE_STATUSES,
  TEMPLATE_TYPES,
  USAGE_TYPES,
} from '../../domain/templates/index.js';
import { getVisibleTemplate, SEARCH_SORTS, type TemplateSearch, searchTemplates, templateHistory, templateUsage, templateVersions, templateView, tenantTemplateStats } from '../../projections/templates/template-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import { jsonValue } from '../openapi.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery, type ReadYourWrites } from '../read-your-writes.js';
import { templateAsOf } from './template-as-of.js';

export interface TemplateRouteDeps {
  readonly commands: TemplateCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  /** Search pages and single templates, invalidated by the projector after it commits. */
  readonly cache: ReadCache;
  /** Usage count from which a template is "popular" (search `popularOnly`). */
  readonly popularThreshold: number;
  /** Template commands per tenant per minute. */
  readonly opsPerMinute: number;
}

const PROJECTIONS = ['templates'] as const;
const SEARCH_TTL_SECONDS = 60;
const TEMPLATE_TTL_SECONDS = 300;
const tags = ['templates'];

const jsonObject = z.record(z.string(), jsonValue);
const money = z.strictObject({ amountMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. EUR') });
const tag = z.strictObject({ name: z.string().trim().min(1).max(64), value: z.string().max(256).default(''), type: z.enum(TAG_TYPES).default('custom') });
const tagKey = z.strictObject({ name: z.string().trim().min(1).max(64), type: z.enum(TAG_TYPES).default('custom') });
/** The largest PostgreSQL `integer`. */
const INT4_MAX = 2_147_483_647;
const nullableInt = (min: number, max: number) => z.number().int().min(min).max(max).nullable();

const contentFields = {
  name: z.string().trim().min(1).max(255),
  description: z.string().max(5000).nullable(),
  categoryId: z.uuid().nullable(),
  templateType: z.enum(TEMPLATE_TYPES),
  mergeStrategy: z.enum(MERGE_STRATEGIES),
  selectiveKeys: z.array(z.string().min(1).max(200)).max(100),
  defaultDuration: nullableInt(1, 10_080).describe('minutes'),
  defaultMaxParticipants: nullableInt(1, 100_000),
  defaultMinParticipants: nullableInt(1, 100_000),
  defaultPrice: money.nullable().describe('integer minor units, e.g. 1999 EUR = 19.99 €'),
  defaultSkillLevel: z.enum(SKILL_LEVELS).nullable(),
  dynamicProperties: jsonObject,
  validationRules: jsonObject,
  uiConfiguration: jsonObject,
  isPublic: z.boolean(),
};

const createBody = z.strictObject({
  templateId: z.uuid().optional(),
  ...contentFields,
  description: contentFields.description.optional(),
  categoryId: contentFields.categoryId.optional(),
  mergeStrategy: contentFields.mergeStrategy.optional(),
  selectiveKeys: contentFields.selectiveKeys.optional(),
  defaultDuration: contentFields.defaultDuration.optional(),
  defaultMaxParticipants: contentFields.defaultMaxParticipants.optional(),
  defaultMinParticipants: contentFields.defaultMinParticipants.optional(),
  defaultPrice: contentFields.defaultPrice.optional(),
  defaultSkillLevel: contentFields.defaultSkillLevel.optional(),
  dynamicProperties: jsonObject.optional(),
  validationRules: jsonObject.optional(),
  uiConfiguration: jsonObject.optional(),
  isPublic: z.boolean().optional(),
  parentTemplateId: z.uuid().nullable().optional(),
  tags: z.array(tag).max(50).optional(),
  isSystemTemplate: z.boolean().optional().describe('needs the platform permission'),
});

const updateBody = z
  .strictObject(Object.fromEntries(Object.entries(contentFields).map(([key, schema]) => [key, schema.optional()])) as { [K in keyof typeof contentFields]: z.ZodOptional<(typeof contentFields)[K]> })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' });

const idParams = z.strictObject({ templateId: z.uuid() });
const accepted = z.object({ templateId: z.string(), revision: z.number().int(), version: z.number().int().nullable(), position: z.string() });

const templateResponse = z.object({
  templateId: z.string(),
  ownerTenantId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  categoryId: z.string().nullable(),
  templateType: z.string(),
  status: z.string(),
  parentTemplateId: z.string().nullable(),
  isPublic: z.boolean(),
  isSystemTemplate: z.boolean(),
  version: z.number().int(),
  revision: z.number().int(),
  content: jsonObject,
  effective: jsonObject,
  parentUnavailable: z
    .boolean()
    .describe('the parent is no longer visible to this template’s tenant (another tenant made it private): `effective` keeps what it inherited up to then, and nothing the parent’s owner writes later reaches it'),
  usageCount: z.number().int(),
  lastUsedAt: z.string().nullable(),
  favoritesCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

/** An ISO date-time, or an ISO date meaning the start of that day in UTC. */
const asOfQuery = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))
  .optional()
  .describe('ISO date-time (e.g. 2026-11-26T09:30:00Z) or date (2026-11-26 = start of that day, UTC)');

const csv = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .max(2000)
    .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).max(20))
    .optional();

const searchQuery = z
  .strictObject({
    status: csv(TEMPLATE_STATUSES).describe('comma-separated; default active'),
    categoryIds: z.string().max(4000).transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean)).pipe(z.array(z.uuid()).max(50)).optional(),
    templateTypes: csv(TEMPLATE_TYPES),
    skillLevels: csv(SKILL_LEVELS),
    q: z.string().trim().min(1).max(200).optional().describe('keywords over name, description and tags (prefix match)'),
    tags: z.string().max(2000).transform((s) => s.split(',').map((v) => v.trim().toLowerCase()).filter(Boolean)).pipe(z.array(z.string().regex(/^(category|skill|topic|custom):.{1,64}$/, 'type:name')).max(20)).optional(),
    // Bounded by their columns (price_minor bigint, read as a safe JS integer; duration integer): a value
    // past them reached the database and failed there (500).
    priceMin: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    priceMax: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    durationMin: z.coerce.number().int().min(0).max(INT4_MAX).optional(),
    durationMax: z.coerce.number().int().min(0).max(INT4_MAX).optional(),
    favoritesOnly: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    popularOnly: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    sort: z.enum(SEARCH_SORTS).default('name'),
    order: z.enum(['asc', 'desc']).optional(),
    ...pageQuery,
    minPosition: minPositionQuery,
  })
  .refine((q) => q.priceMin === undefined || q.priceMax === undefined || q.priceMin <= q.priceMax, { message: 'priceMin must not exceed priceMax', path: ['priceMin'] })
  .refine((q) => q.durationMin === undefined || q.durationMax === undefined || q.durationMin <= q.durationMax, { message: 'durationMin must not exceed durationMax', path: ['durationMin'] });

function accept(reply: FastifyReply, templateId: string, result: TemplateCommandResult | TemplateSideEffectResult) {
  const version = 'state' in result ? (result.state.status === 'absent' ? null : result.state.version) : result.version;
  return { templateId, version, ...commandAccepted(reply, result) };
}

const target = (request: FastifyRequest, templateId: string) => {
  const expectedRevision = expectedRevisionFrom(request);
  return { templateId: templateId.toLowerCase(), ...(expectedRevision !== undefined ? { expectedRevision } : {}) };
};

export async function templateRoutes(app: FastifyInstance, deps: TemplateRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const write = { permission: 'templates:write' };
  const read = { permission: 'templates:read' };

  // One budget per tenant shared by every template command, in the same store as the global limit (the
  // plugin's per-route limits would count each route apart). Runs after authentication and permissions.
  const opsLimit = app.createRateLimit({ max: deps.opsPerMinute, timeWindow: 60_000, keyGenerator: (request) => `template-ops:${principalOf(request).tenantId}` });
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET') return;
    const verdict = await opsLimit(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    reply.header('retry-after', String(verdict.ttlInSeconds));
    throw new HttpProblem(429, 'template.rate_limit', `at most ${verdict.max} template commands per minute per tenant; retry in ${verdict.ttlInSeconds} s`);
  });

  routes.post(
    '/v1/templates',
    { config: write, schema: { tags, summary: 'Create a template (starts as draft)', headers: commandHeaders, body: createBody, response: { 201: accepted } } },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { isSystemTemplate, templateId: given, ...fields } = request.body;
      if (isSystemTemplate && !hasPermission(principalOf(request), PLATFORM_PERMISSION)) {
        throw new HttpProblem(403, 'template.system.permission', 'creating a system template needs the platform permission');
      }
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const templateId = (given ?? deterministicUuid(`template:${context.tenantId}`, context.commandId)).toLowerCase();
      const result = await createTemplate(deps.commands, context, { ...fields, templateId, ...(isSystemTemplate !== undefined ? { isSystemTemplate } : {}) } as Parameters<typeof createTemplate>[2]);
      reply.header('location', `/v1/templates/${templateId}`);
      return reply.code(201).send(accept(reply, templateId, result));
    },
  );

  routes.patch(
    '/v1/templates/:templateId',
    { config: write, schema: { tags, summary: 'Change some fields (a new version)', headers: commandHeaders, params: idParams, body: updateBody, response: { 200: accepted } } },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await updateTemplate(deps.commands, commandContextOf(request), { ...t, changes: request.body as Parameters<typeof updateTemplate>[2]['changes'] });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.put(
    '/v1/templates/:templateId/parent',
    {
      config: write,
      schema: { tags, summary: 'Set or clear the parent (same tenant, public or system; ≤ 10 levels; no cycles)', headers: commandHeaders, params: idParams, body: z.strictObject({ parentTemplateId: z.uuid().nullable() }), response: { 200: accepted } },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await changeTemplateParent(deps.commands, commandContextOf(request), { ...t, parentTemplateId: request.body.parentTemplateId });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  for (const action of ['activate', 'archive', 'deprecate', 'unarchive'] as const) {
    routes.post(
      `/v1/templates/:templateId/${action}`,
      { config: write, schema: { tags, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a template`, headers: commandHeaders, params: idParams, response: { 200: accepted } } },
      async (request, reply) => {
        const t = target(request, request.params.templateId);
        const result = await changeTemplateStatus(deps.commands, commandContextOf(request), { ...t, action });
        return reply.send(accept(reply, t.templateId, result));
      },
    );
  }

  routes.post(
    '/v1/templates/:templateId/versions/:version/restore',
    {
      config: write,
      schema: {
        tags,
        summary: 'Append a new version equal to an earlier one',
        headers: commandHeaders,
        params: z.strictObject({ templateId: z.uuid(), version: z.coerce.number().int().min(1).max(INT4_MAX) }),
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
    '/v1/templates/:templateId/tags',
    { config: write, schema: { tags, summary: 'Add tags', headers: commandHeaders, params: idParams, body: z.strictObject({ tags: z.array(tag).min(1).max(50) }), response: { 200: accepted } } },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await addTemplateTags(deps.commands, commandContextOf(request), { ...t, tags: request.body.tags });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.post(
    '/v1/templates/:templateId/tags/remove',
    { config: write, schema: { tags, summary: 'Remove tags (by type and name)', headers: commandHeaders, params: idParams, body: z.strictObject({ tags: z.array(tagKey).min(1).max(50) }), response: { 200: accepted } } },
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
      '/v1/templates/:templateId/favorite',
      { config: read, schema: { tags, summary: favorite ? 'Favorite (for the caller)' : 'Unfavorite', headers: commandHeaders, params: idParams, response: { 200: accepted } } },
      async (request, reply) => {
        const t = target(request, request.params.templateId);
        const result = await favoriteTemplate(deps.commands, commandContextOf(request), { ...t, favorite });
        return reply.send(accept(reply, t.templateId, result));
      },
    );
  }

  routes.post(
    '/v1/templates/:templateId/usages',
    {
      config: write,
      schema: {
        tags,
        summary: 'Record a usage (active or deprecated templates)',
        headers: commandHeaders,
        params: idParams,
        body: z.strictObject({
          usageType: z.enum(USAGE_TYPES),
          customizations: jsonObject.default({}),
          outcome: z.enum(['success', 'error']),
          errorMessage: z.string().max(2000).nullable().optional(),
          courseId: z.uuid().nullable().optional(),
        }),
        response: { 200: accepted },
      },
    },
    async (request, reply) => {
      const t = target(request, request.params.templateId);
      const result = await recordTemplateUsage(deps.commands, commandContextOf(request), { ...t, usage: request.body as Parameters<typeof recordTemplateUsage>[2]['usage'] });
      return reply.send(accept(reply, t.templateId, result));
    },
  );

  routes.get(
    '/v1/templates',
    {
      config: read,
      schema: {
        tags,
        summary: 'Search templates: yours plus public and system ones',
        querystring: searchQuery,
        response: { 200: pageResponse(templateResponse) },
      },
    },
    async (request) => {
      const q = request.query;
      await deps.readYourWrites.await(q.minPosition, PROJECTIONS);
      const principal = principalOf(request);
      const search: TemplateSearch = {
        statuses: q.status?.length ? q.status : ['active'],
        ...(q.categoryIds ? { categoryIds: q.categoryIds } : {}),
        ...(q.templateTypes ? { templateTypes: q.templateTypes } : {}),
        ...(q.skillLevels ? { skillLevels: q.skillLevels } : {}),
        ...(q.q ? { keyword: q.q } : {}),
        ...(q.tags ? { tags: q.tags } : {}),
        ...(q.priceMin !== undefined ? { priceMin: q.priceMin } : {}),
        ...(q.priceMax !== undefined ? { priceMax: q.priceMax } : {}),
        ...(q.durationMin !== undefined ? { durationMin: q.durationMin } : {}),
        ...(q.durationMax !== undefined ? { durationMax: q.durationMax } : {}),
        ...(q.favoritesOnly ? { favoritesOnly: { userId: favoriteUserKey(principal.tenantId, principal.userId) } } : {}),
        ...(q.popularOnly ? { popularOnly: { minUsage: deps.popularThreshold } } : {}),
        sort: q.sort,
        order: q.order ?? (q.sort === 'name' ? 'asc' : 'desc'),
        page: q.page,
        pageSize: q.pageSize,
      };
      const load = () => searchTemplates(deps.db.kysely, principal.tenantId, search);
      // A query that waited for its own write reads the database: the projector's invalidation runs just
      // after the commit it waited for.
      if (q.minPosition !== undefined) return load();
      const key = `search:${principal.tenantId}:${createHash('sha256').update(JSON.stringify(search)).digest('base64url')}`;
      return deps.cache.getOrLoad(key, load, { ttlSeconds: SEARCH_TTL_SECONDS, tags: [tenantSearchTag(principal.tenantId), sharedSearchTag, templateReadModelTag] });
    },
  );

  routes.get(
    '/v1/templates/stats',
    {
      config: read,
      schema: {
        tags,
        summary: "Your tenant's template totals and its usages",
        querystring: z.strictObject({ minPosition: minPositionQuery }),
        response: {
          200: z.object({
            templates: z.number().int(),
            byStatus: z.record(z.string(), z.number().int()),
            activeCount: z.number().int(),
            usages: z.number().int(),
            successfulUsages: z.number().int(),
            successRate: z.number().nullable(),
            mostUsed: z.array(z.object({ templateId: z.string(), name: z.string(), usageCount: z.number().int() })),
          }),
        },
      },
    },
    async (request) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      return tenantTemplateStats(deps.db.kysely, principalOf(request).tenantId);
    },
  );

  routes.get(
    '/v1/templates/:templateId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One template: own content and effective (inherited) content; asOf folds its history up to a moment',
        params: idParams,
        querystring: z.strictObject({ asOf: asOfQuery, minPosition: minPositionQuery }),
        response: { 200: templateResponse.partial({ usageCount: true, lastUsedAt: true, favoritesCount: true, createdAt: true, updatedAt: true, createdBy: true, updatedBy: true }) },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const templateId = request.params.templateId.toLowerCase();
      if (request.query.asOf) return reply.send(await templateAsOf(deps.commands, tenantId, templateId, request.query.asOf));
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const load = async () => {
        const row = await getVisibleTemplate(deps.db.kysely, tenantId, templateId);
        return row && templateView(row);
      };
      const view =
        request.query.minPosition !== undefined
          ? await load()
          : await deps.cache.getOrLoad(`template:${tenantId}:${templateId}`, load, { ttlSeconds: TEMPLATE_TTL_SECONDS, tags: [templateTag(templateId), templateReadModelTag] });
      if (!view) throw new HttpProblem(404, 'template.not_found', 'no such template');
      setEtag(reply, view.revision);
      return reply.send(view);
    },
  );

  const visibleOr404 = async (request: FastifyRequest, templateId: string, minPosition: string | undefined) => {
    await deps.readYourWrites.await(minPosition, PROJECTIONS);
    const row = await getVisibleTemplate(deps.db.kysely, principalOf(request).tenantId, templateId);
    if (!row) throw new HttpProblem(404, 'template.not_found', 'no such template');
    return row;
  };

  routes.get(
    '/v1/templates/:templateId/versions',
    {
      config: read,
      schema: {
        tags,
        summary: 'Every version of a template, oldest first, a page at a time',
        params: idParams,
        querystring: z.strictObject({ ...pageQuery, minPosition: minPositionQuery }),
        response: { 200: pageResponse(z.object({ version: z.number().int(), content: jsonObject, parentTemplateId: z.string().nullable(), eventType: z.string(), changedBy: z.string(), changedAt: z.string() })) },
      },
    },
    async (request) => {
      const { minPosition, ...page } = request.query;
      const row = await visibleOr404(request, request.params.templateId, minPosition);
      return templateVersions(deps.db.kysely, row.template_id, page);
    },
  );

  routes.get(
    '/v1/templates/:templateId/history',
    {
      config: read,
      schema: {
        tags,
        summary: 'Who changed what and when, oldest first, a page at a time',
        params: idParams,
        querystring: z.strictObject({ ...pageQuery, minPosition: minPositionQuery }),
        response: {
          200: pageResponse(z.object({ revision: z.number().int(), eventType: z.string(), changes: jsonObject, tenantId: z.string(), userId: z.string(), correlationId: z.string().nullable(), occurredAt: z.string() })),
        },
      },
    },
    async (request) => {
      const { minPosition, ...page } = request.query;
      const row = await visibleOr404(request, request.params.templateId, minPosition);
      return templateHistory(deps.db.kysely, principalOf(request).tenantId, row.template_id, page);
    },
  );

  routes.get(
    '/v1/templates/:templateId/usage',
    {
      config: read,
      schema: {
        tags,
        summary: 'Usage count, last use and usages by day',
        params: idParams,
        querystring: z.strictObject({ days: z.coerce.number().int().min(1).max(366).default(30), minPosition: minPositionQuery }),
        response: {
          200: z.object({
            templateId: z.string(),
            usageCount: z.number().int(),
            successCount: z.number().int(),
            lastUsedAt: z.string().nullable(),
            byDay: z.array(z.object({ day: z.string(), usageType: z.string(), successCount: z.number().int(), errorCount: z.number().int() })),
          }),
        },
      },
    },
    async (request) => {
      const row = await visibleOr404(request, request.params.templateId, request.query.minPosition);
      return templateUsage(deps.db.kysely, principalOf(request).tenantId, row, request.query.days);
    },
  );
}
