// Category queries over HTTP, with read-your-writes. Registered under the /v1/categories prefix (see
// index.ts).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getCategory, listCategories } from '../../projections/categories/category-queries.js';
import { principalOf } from '../auth.js';
import { setEtag } from '../preconditions.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { categoryResponse, idParams, listQuery, listResponse, oneCategoryQuery } from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { CATEGORY_CATEGORY } from '../../domain/categories/category-streams.js';

export interface CategoryQueryRouteDeps {
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

const PROJECTIONS = ['categories'] as const;
const tags = ['categories'];
const read = { permission: 'categories:read' } as const;

export async function categoryQueryRoutes(app: FastifyInstance, deps: CategoryQueryRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/:categoryId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One category (ETag = revision)',
        params: idParams,
        querystring: oneCategoryQuery,
        response: { 200: categoryResponse },
      },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getCategory(deps.db.kysely, principalOf(request).tenantId, request.params.categoryId);
      if (!found) throw notFoundOf(CATEGORY_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found);
    },
  );

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'List categories of your tenant, by name, a page at a time',
        querystring: listQuery,
        response: { 200: listResponse },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listCategories(deps.db.kysely, principalOf(request).tenantId, filter);
    },
  );
}
