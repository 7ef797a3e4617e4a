// The OpenAPI document: zod schemas become JSON Schema through fastify-type-provider-zod, and every route
// documents the errors it can answer, derived from what the route is (public or not, with a body, an id,
// a command's headers, a read-your-writes query) rather than listed by hand per route.
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * Schemas that become named components. A recursive schema must be one of them: zod can only refer to
 * it by a `$ref`, and a component is what that `$ref` can point at (unnamed, it would point at a
 * `schema0` that the document never defines).
 */
export const apiSchemas = z.registry<{ id?: string; description?: string }>();

/** Any JSON value (template content, usage customizations): recursive, hence a named component. */
export const jsonValue = z.json();
apiSchemas.add(jsonValue, { id: 'JsonValue', description: 'Any JSON value' });

/** Every error body (RFC 9457), see problem.ts. */
export const problemSchema = z
  .object({
    type: z.string().describe('URI of the problem type; its last segment is the rule id'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    rule: z.string().optional().describe('The domain rule broken, e.g. template.name.unique'),
    errors: z
      .array(
        z.object({ field: z.string().describe('e.g. body.name, query.pageSize, headers.if-match'), rule: z.string(), message: z.string() }),
      )
      .optional(),
  })
  .catchall(z.unknown());
apiSchemas.add(problemSchema, { id: 'Problem', description: 'application/problem+json (RFC 9457)' });

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error statuses a route can answer that its shape does not tell (e.g. 409 for a rebuild in progress). */
    problems?: readonly number[];
  }
}

const WHY: Record<number, string> = {
  400: 'Bad input (validation, malformed JSON, bad header); `errors` names each field and rule',
  401: 'Missing, unknown, revoked or forged credential',
  403: 'The credential lacks the permission this operation needs',
  404: 'Not found (another tenant’s resource reads as missing), or a resource the command names does not exist',
  409: 'Conflict: a domain rule (`rule`), or the resource changed since the If-Match revision (`currentRevision`)',
  413: 'Body larger than BODY_LIMIT_BYTES',
  415: 'Body is not application/json',
  422: 'Well-formed, but refers to something that cannot be used (e.g. an unknown or archived category), or contradicts inherited values',
  429: 'Over the tenant’s request rate; see Retry-After',
  500: 'Internal fault, logged with the request id',
  503: 'The read model has not reached minPosition yet (`read_model.lagging`); see Retry-After',
};

interface RouteShape {
  readonly method: string | readonly string[];
  readonly config?: { public?: boolean; permission?: string; problems?: readonly number[] };
}

type JsonSchemaObject = { properties?: Record<string, unknown> };
const hasProperty = (schema: unknown, name: string) => Object.hasOwn((schema as JsonSchemaObject | undefined)?.properties ?? {}, name);

/** The error statuses a route can answer, from what it is. */
export function errorStatusesOf(route: RouteShape, schema: Record<string, unknown>): number[] {
  const statuses = new Set<number>([500]);
  const methods = [route.method].flat();
  const config = route.config ?? {};
  if (!config.public) [401, 429].forEach((s) => statuses.add(s));
  if (config.permission) statuses.add(403);
  if (schema.params || schema.querystring || schema.headers || schema.body) statuses.add(400);
  if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')) [400, 413, 415].forEach((s) => statuses.add(s));
  if (schema.params) statuses.add(404);
  // A command (it takes If-Match): its target or what it names may be missing, a rule or a revision can
  // conflict, and a reference may be unusable.
  if (hasProperty(schema.headers, 'if-match')) [404, 409, 422].forEach((s) => statuses.add(s));
  if (hasProperty(schema.querystring, 'minPosition')) [400, 503].forEach((s) => statuses.add(s));
  for (const status of config.problems ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}

const problemResponse = (status: number) => ({
  description: WHY[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const zodTransform = createJsonSchemaTransform({
  schemaRegistry: apiSchemas,
  skipList: ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/initOAuth', '/docs/uiConfig', '/docs/static/*'],
});

/** zod → JSON Schema, then the error answers each route can give, unless the route documents them itself. */
export const openApiRouteTransform: SwaggerTransform = (input) => {
  const transformed = zodTransform(input as Parameters<typeof zodTransform>[0]) as { schema: Record<string, unknown>; url: string };
  const schema = transformed.schema;
  if (!schema || schema.hide) return transformed;
  const responses: Record<string, unknown> = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  for (const status of errorStatusesOf(input.route as RouteShape, schema)) {
    if (!Object.hasOwn(responses, String(status))) responses[String(status)] = problemResponse(status);
  }
  return { ...transformed, schema: { ...schema, response: responses } };
};

/** Adds the named components (JsonValue, Problem, …) that the routes' `$ref`s point at. */
export const openApiObjectTransform: SwaggerTransformObject = createJsonSchemaTransformObject({ schemaRegistry: apiSchemas });
