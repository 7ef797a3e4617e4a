// The Fastify application: framework concerns only (ids, logs, schemas, docs, auth, limits, errors,
// metrics). Each area's routes are a plugin given the services it needs.
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { ApiKeyStore } from '../ports/api-keys.js';
import type { IdempotencyRecordStore } from '../ports/idempotency-records.js';
import type { Metrics } from '../ports/metrics.js';
import { authentication } from './auth.js';
import { openApiObjectTransform, openApiRouteTransform } from './openapi.js';
import { idempotencyKeys } from './idempotency.js';
import { inputGuard } from './input-guard.js';
import { HttpProblem, handleFrameworkError, registerProblemHandlers } from './problem.js';

export interface HttpOptions {
  readonly logger: Logger;
  readonly apiKeys: ApiKeyStore;
  readonly metrics: Metrics;
  readonly bodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly jwt?: { secret: string; issuer?: string; audience?: string };
  /** Where Idempotency-Keys are bound to their first request; without it a reused key is not detected. */
  readonly idempotencyRecords?: IdempotencyRecordStore;
  /** Registers the routes; called inside the app once the shared plugins are in place. */
  readonly routes: (app: FastifyInstance) => Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export async function buildHttpApp(options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // A caller's request id is kept when it is sane, so logs join up across services.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    frameworkErrors: handleFrameworkError,
    // Building the OpenAPI document of every route took over Fastify's default 10 s on a loaded two-core
    // machine (the start then failed with "Plugin did not start in time: '@fastify/swagger-ui'").
    pluginTimeout: 300_000,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);
  acceptJsonOnly(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    options.metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Kyo Platform API',
        version: '0.1.0',
        description:
          'Event-sourced course platform backend. Commands return the global position of their last event; pass it as `minPosition` to a query to read your own writes.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`kyo_…`) or a JWT' } },
      },
      security: [{ bearer: [] }],
    },
    transform: openApiRouteTransform,
    transformObject: openApiObjectTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });

  await app.register(authentication, { apiKeys: options.apiKeys, ...(options.jwt ? { jwt: options.jwt } : {}), publicPrefixes: ['/docs'] });
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    // After authentication, so the budget is per tenant rather than per address behind a proxy.
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `tenant:${request.principal.tenantId}` : `ip:${request.ip}`),
    allowList: (request) => request.routeOptions.config.public === true,
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(
        429,
        'rate_limit',
        `at most ${context.max} requests per minute per tenant; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ),
  });

  await app.register(inputGuard);
  if (options.idempotencyRecords) await app.register(idempotencyKeys, { records: options.idempotencyRecords });

  await app.register(options.routes);
  return app;
}

/**
 * Bodies are JSON only: Fastify's built-in text/plain parser would hand a string to the body schema (a
 * 400 that hides the real fault), so it goes and such bodies get 415. An empty JSON body is accepted on
 * routes that take no body (lifecycle commands such as archive), since clients send the header anyway;
 * routes that need a body still refuse it.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' && !request.routeOptions.schema?.body) return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}
