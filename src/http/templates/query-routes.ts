// Template queries over HTTP: the read models (cached, with read-your-writes) and the as-of fold of a
// template's history. Registered under the /v1/templates prefix (see index.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { createHash } from 'node:crypto';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { sharedSearchTag, templateReadModelTag, templateTag, tenantSearchTag } from '../../projections/templates/template-cache-tags.js';
import type { ReadCache } from '../../ports/read-cache.js';
import { favoriteUserKey, type TemplateCommandDeps } from '../../commands/templates/index.js';
import { upcast } from '../../commands/upcasters.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import { TemplateAbsentAsOfError, templateAsOf } from '../../projections/templates/template-as-of.js';
import {
  getVisibleTemplate,
  searchTemplates,
  templateHistory,
  templateUsage,
  templateVersions,
  templateView,
  tenantTemplateStats,
  type TemplateSearch,
} from '../../projections/templates/template-queries.js';
import { principalOf } from '../auth.js';
import { setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import {
  historyResponse,
  idParams,
  minPositionOnly,
  oneTemplateQuery,
  oneTemplateResponse,
  pagedQuery,
  searchQuery,
  searchResponse,
  statsResponse,
  usageQuery,
  usageResponse,
  versionsResponse,
} from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { TEMPLATE_CATEGORY } from '../../domain/templates/template-streams.js';

export interface TemplateQueryRouteDeps {
  /** The as-of fold reads the template streams the way the commands do (event store, upcasters). */
  readonly commands: Pick<TemplateCommandDeps, 'eventStore' | 'upcasters'>;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  /** Search pages and single templates, invalidated by the projector after it commits. */
  readonly cache: ReadCache;
  /** Usage count from which a template is "popular" (search `popularOnly`). */
  readonly popularThreshold: number;
}

const PROJECTIONS = ['templates'] as const;
const SEARCH_TTL_SECONDS = 60;
const TEMPLATE_TTL_SECONDS = 300;
const tags = ['templates'];
const read = { permission: 'templates:read' } as const;

const notFound = () => notFoundOf(TEMPLATE_CATEGORY);

export async function templateQueryRoutes(app: FastifyInstance, deps: TemplateQueryRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const history = { eventStore: deps.commands.eventStore, upcast: (event: RecordedEvent) => upcast(event, deps.commands.upcasters) };

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'Search templates: yours plus public and system ones',
        querystring: searchQuery,
        response: { 200: searchResponse },
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
      return deps.cache.getOrLoad(key, load, {
        ttlSeconds: SEARCH_TTL_SECONDS,
        tags: [tenantSearchTag(principal.tenantId), sharedSearchTag, templateReadModelTag],
      });
    },
  );

  routes.get(
    '/stats',
    {
      config: read,
      schema: {
        tags,
        summary: "Your tenant's template totals and its usages",
        querystring: minPositionOnly,
        response: { 200: statsResponse },
      },
    },
    async (request) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      return tenantTemplateStats(deps.db.kysely, principalOf(request).tenantId);
    },
  );

  routes.get(
    '/:templateId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One template: own content and effective (inherited) content; asOf folds its history up to a moment',
        params: idParams,
        querystring: oneTemplateQuery,
        response: { 200: oneTemplateResponse },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const templateId = request.params.templateId.toLowerCase();
      if (request.query.asOf) {
        const asOf = await templateAsOf(history, tenantId, templateId, request.query.asOf).catch((error: unknown) => {
          throw error instanceof TemplateAbsentAsOfError
            ? new HttpProblem(404, 'template.not_found', 'no such template at that moment')
            : error;
        });
        return reply.send(asOf);
      }
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const load = async () => {
        const row = await getVisibleTemplate(deps.db.kysely, tenantId, templateId);
        return row && templateView(row);
      };
      const view =
        request.query.minPosition !== undefined
          ? await load()
          : await deps.cache.getOrLoad(`template:${tenantId}:${templateId}`, load, {
              ttlSeconds: TEMPLATE_TTL_SECONDS,
              tags: [templateTag(templateId), templateReadModelTag],
            });
      if (!view) throw notFound();
      setEtag(reply, view.revision);
      return reply.send(view);
    },
  );

  const visibleOr404 = async (request: FastifyRequest, templateId: string, minPosition: string | undefined) => {
    await deps.readYourWrites.await(minPosition, PROJECTIONS);
    const row = await getVisibleTemplate(deps.db.kysely, principalOf(request).tenantId, templateId);
    if (!row) throw notFound();
    return row;
  };

  routes.get(
    '/:templateId/versions',
    {
      config: read,
      schema: {
        tags,
        summary: 'Every version of a template, oldest first, a page at a time',
        params: idParams,
        querystring: pagedQuery,
        response: { 200: versionsResponse },
      },
    },
    async (request) => {
      const { minPosition, ...page } = request.query;
      const row = await visibleOr404(request, request.params.templateId, minPosition);
      return templateVersions(deps.db.kysely, row.template_id, page);
    },
  );

  routes.get(
    '/:templateId/history',
    {
      config: read,
      schema: {
        tags,
        summary: 'Who changed what and when, oldest first, a page at a time',
        params: idParams,
        querystring: pagedQuery,
        response: { 200: historyResponse },
      },
    },
    async (request) => {
      const { minPosition, ...page } = request.query;
      const row = await visibleOr404(request, request.params.templateId, minPosition);
      return templateHistory(deps.db.kysely, principalOf(request).tenantId, row.template_id, page);
    },
  );

  routes.get(
    '/:templateId/usage',
    {
      config: read,
      schema: {
        tags,
        summary: 'Usage count, last use and usages by day',
        params: idParams,
        querystring: usageQuery,
        response: { 200: usageResponse },
      },
    },
    async (request) => {
      const row = await visibleOr404(request, request.params.templateId, request.query.minPosition);
      return templateUsage(deps.db.kysely, principalOf(request).tenantId, row, request.query.days);
    },
  );
}
