// The HTTP shell on its own: authentication, problem+json for every kind of bad input, ETag/If-Match
// parsing, request ids, rate limiting. Routes here are test fixtures; the real ones have their own suites.
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKeyStore } from '../../src/adapters/auth/api-key-store.js';
import type { ApiKeyStore } from '../../src/ports/api-keys.js';
import { createMetrics } from '../../src/adapters/observability/metrics.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import { InvalidEventError, WrongExpectedRevisionError } from '../../src/ports/event-store.js';
import { RuleViolation, resourceState } from '../../src/domain/rule-violation.js';
import { buildHttpApp } from '../../src/http/app.js';
import { principalOf } from '../../src/http/auth.js';
import { expectedRevisionFrom } from '../../src/http/preconditions.js';

const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

let db: SqlDatabase;
let apiKeys: ApiKeyStore;
let app: FastifyInstance;
let writerKey: string;
let readerKey: string;

async function fixtureRoutes(instance: FastifyInstance): Promise<void> {
  const routes = instance.withTypeProvider<ZodTypeProvider>();
  routes.get('/open', { config: { public: true } }, async () => ({ ok: true }));
  routes.get('/whoami', { config: { permission: 'categories:read' } }, async (request) => {
    const p = principalOf(request);
    return { tenantId: p.tenantId, userId: p.userId };
  });
  routes.post(
    '/things',
    {
      config: { permission: 'categories:write' },
      schema: {
        body: z.strictObject({
          name: z.string().min(1).max(10),
          count: z.number().int().min(0),
          nested: z.strictObject({ flag: z.boolean() }).optional(),
        }),
      },
    },
    async (request) => ({ expected: String(expectedRevisionFrom(request) ?? 'none'), name: request.body.name }),
  );
  routes.get('/things/:id', { config: { permission: 'categories:read' } }, async (request) => ({
    id: (request.params as { id: string }).id,
  }));
  routes.post('/rule', { config: { permission: 'categories:write' } }, async () => {
    throw new RuleViolation('thing.name.unique', 'a thing with this name exists', 'conflict', 'name');
  });
  routes.post('/finished', { config: { permission: 'categories:write' } }, async () => {
    throw new RuleViolation('thing.finished', 'a finished thing cannot be cancelled', 'conflict', resourceState('status'));
  });
  routes.post('/conflict', { config: { permission: 'categories:write' } }, async () => {
    throw new WrongExpectedRevisionError('thing-1', 3n, 5n);
  });
  routes.post('/unstorable', { config: { permission: 'categories:write' } }, async () => {
    throw new InvalidEventError('thing-1', '00000000-0000-4000-8000-000000000000', 'data.name');
  });
  routes.get('/boom', { config: { permission: 'categories:read' } }, async () => {
    throw new Error('database password is hunter2');
  });
}

beforeAll(async () => {
  db = await createPgliteDatabase();
  apiKeys = createApiKeyStore(db);
  await apiKeys.migrate();
  writerKey = (await apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'w', permissions: ['categories:write'] })).apiKey;
  readerKey = (await apiKeys.create({ tenantId: 'acme', userId: 'bob', name: 'r', permissions: ['categories:read'] })).apiKey;
  app = await buildHttpApp({
    logger: pino({ level: 'silent' }),
    apiKeys,
    metrics: createMetrics({ defaultMetrics: false }),
    bodyLimitBytes: 2048,
    rateLimitPerMinute: 1000,
    jwt: { secret: JWT_SECRET },
    routes: fixtureRoutes,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('authentication', () => {
  it('lets public routes through without a credential', async () => {
    const response = await app.inject({ method: 'GET', url: '/open' });
    expect(response.statusCode).toBe(200);
  });

  it('answers 401 problem+json without a credential, with a forged key, and with a malformed header', async () => {
    for (const headers of [{}, auth('kyo_abcdefabcdef_' + 'A'.repeat(43)), { authorization: 'Basic Zm9vOmJhcg==' }, auth('not-a-jwt')]) {
      const response = await app.inject({ method: 'GET', url: '/whoami', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('resolves an API key to its tenant and user, also through X-API-Key', async () => {
    const viaBearer = await app.inject({ method: 'GET', url: '/whoami', headers: auth(readerKey) });
    expect(viaBearer.json()).toEqual({ tenantId: 'acme', userId: 'bob' });
    const viaHeader = await app.inject({ method: 'GET', url: '/whoami', headers: { 'x-api-key': writerKey } });
    expect(viaHeader.json()).toEqual({ tenantId: 'acme', userId: 'alice' });
  });

  it('refuses a revoked key', async () => {
    const { keyId, apiKey } = await apiKeys.create({ tenantId: 'acme', userId: 'carol', name: 'tmp', permissions: ['categories:read'] });
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(apiKey) })).statusCode).toBe(200);
    expect(await apiKeys.revoke('acme', keyId)).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(apiKey) })).statusCode).toBe(401);
  });

  it('answers 403 naming the missing permission; write implies read', async () => {
    const forbidden = await app.inject({ method: 'POST', url: '/things', headers: auth(readerKey), payload: { name: 'x', count: 1 } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ status: 403, permission: 'categories:write' });
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(writerKey) })).statusCode).toBe(200);
  });

  it('accepts a JWT signed with the configured secret and refuses a forged or claim-less one', async () => {
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 60_000 });
    const good = sign({ sub: 'dave', tenant_id: 'globex', permissions: ['categories:read'] });
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(good) })).json()).toEqual({
      tenantId: 'globex',
      userId: 'dave',
    });
    const forged = createSigner({ key: 'another-secret-that-is-also-long-enough!!', algorithm: 'HS256' })({
      sub: 'dave',
      tenant_id: 'globex',
      permissions: ['admin'],
    });
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(forged) })).statusCode).toBe(401);
    const noTenant = sign({ sub: 'dave', permissions: ['categories:read'] });
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(noTenant) })).statusCode).toBe(401);
    const expired = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 1 })({
      sub: 'dave',
      tenant_id: 'globex',
      permissions: ['categories:read'],
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: auth(expired) })).statusCode).toBe(401);
  });

  it('refuses a JWT whose subject cannot be stored (NUL, lone surrogate): it would become every event’s userId', async () => {
    const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 60_000 });
    for (const sub of ['da\u0000ve', 'da\ud800ve']) {
      expect(
        (
          await app.inject({
            method: 'GET',
            url: '/whoami',
            headers: auth(sign({ sub, tenant_id: 'globex', permissions: ['categories:read'] })),
          })
        ).statusCode,
      ).toBe(401);
    }
  });
});

describe('bad input', () => {
  const post = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/things',
      headers: { ...auth(writerKey), 'content-type': 'application/json', ...headers },
      payload,
    });

  it('names every failing field and rule', async () => {
    const response = await post(JSON.stringify({ name: '', count: 'three', nested: { flag: 1 }, extra: true }));
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.type).toMatch(/validation/);
    const fields = body.errors.map((e: { field: string; rule: string }) => `${e.field}:${e.rule}`).sort();
    expect(fields).toEqual([
      'body.count:invalid_type',
      'body.extra:unrecognized_keys',
      'body.name:too_small',
      'body.nested.flag:invalid_type',
    ]);
  });

  it('refuses malformed JSON, an empty body, a wrong media type and an oversized body', async () => {
    expect((await post('{"name": "x",')).json()).toMatchObject({ status: 400, type: expect.stringMatching(/malformed_json/) });
    expect((await post('')).statusCode).toBe(400);
    const wrongType = await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.statusCode).toBe(415);
    const huge = await post(JSON.stringify({ name: 'x', count: 1, pad: 'y'.repeat(5000) }));
    expect(huge.statusCode).toBe(413);
    expect(huge.headers['content-type']).toContain('application/problem+json');
  });

  it('refuses prototype pollution', async () => {
    const response = await post('{"name":"x","count":1,"__proto__":{"admin":true}}');
    expect(response.statusCode).toBe(400);
  });

  it('parses If-Match strictly', async () => {
    expect((await post(JSON.stringify({ name: 'x', count: 1 }), { 'if-match': '"7"' })).json()).toEqual({ expected: '7', name: 'x' });
    expect((await post(JSON.stringify({ name: 'x', count: 1 }), { 'if-match': '*' })).json()).toEqual({ expected: 'none', name: 'x' });
    const bad = await post(JSON.stringify({ name: 'x', count: 1 }), { 'if-match': 'seven' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]).toMatchObject({ field: 'headers.if-match', rule: 'etag.format' });
  });

  it('maps a domain rule to its status with the rule and field', async () => {
    const response = await app.inject({ method: 'POST', url: '/rule', headers: auth(writerKey) });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ rule: 'thing.name.unique', errors: [{ field: 'body.name', rule: 'thing.name.unique' }] });
  });

  it("names the resource's state, not the body, when the state refuses the command (a cancel of a finished batch)", async () => {
    const response = await app.inject({ method: 'POST', url: '/finished', headers: auth(writerKey) });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ rule: 'thing.finished', errors: [{ field: 'resource.status', rule: 'thing.finished' }] });
  });

  it('maps a concurrency conflict to 409 with the current revision as body field and ETag', async () => {
    const response = await app.inject({ method: 'POST', url: '/conflict', headers: auth(writerKey) });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ currentRevision: 5 });
    expect(response.headers.etag).toBe('"5"');
  });

  it('maps text the event store cannot hold to a 400 naming the field, never a 500', async () => {
    const response = await app.inject({ method: 'POST', url: '/unstorable', headers: auth(writerKey) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ errors: [{ field: 'data.name', rule: 'text.characters' }] });
  });

  it('hides a real fault behind a 500 that quotes the request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/boom', headers: { ...auth(readerKey), 'x-request-id': 'req-123' } });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('hunter2');
    expect(response.json()).toMatchObject({ requestId: 'req-123' });
    expect(response.headers['x-request-id']).toBe('req-123');
  });

  it("answers a path that is not UTF-8 (an encoded lone surrogate, a stray byte) with problem+json 400, not Fastify's own body", async () => {
    for (const raw of ['%ED%A0%80', '%C0', 'a%FFb', '%E0%A4']) {
      const response = await app.inject({
        method: 'GET',
        url: `/things/${raw}`,
        headers: { ...auth(readerKey), 'x-request-id': 'req-bad-url' },
      });
      expect(response.statusCode, raw).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.headers['x-request-id']).toBe('req-bad-url');
      expect(response.json()).toMatchObject({ status: 400, requestId: 'req-bad-url', errors: [{ field: 'path', rule: 'url.encoding' }] });
    }
    const fine = await app.inject({ method: 'GET', url: '/things/%C3%A9t%C3%A9', headers: auth(readerKey) });
    expect(fine.json()).toEqual({ id: 'été' });
  });

  it("answers a path parameter past the router's length with problem+json 414", async () => {
    const response = await app.inject({ method: 'GET', url: `/things/${'x'.repeat(5000)}`, headers: auth(readerKey) });
    expect(response.statusCode).toBe(414);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ errors: [{ field: 'path', rule: 'url.param_too_long' }] });
  });

  it('answers an unknown route with a problem+json 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a tenant spends its budget', async () => {
    const limited = await buildHttpApp({
      logger: pino({ level: 'silent' }),
      apiKeys,
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 2048,
      rateLimitPerMinute: 3,
      routes: fixtureRoutes,
    });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await limited.inject({ method: 'GET', url: '/whoami', headers: auth(readerKey) })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await limited.inject({ method: 'GET', url: '/whoami', headers: auth(readerKey) });
      expect(refused.headers['retry-after']).toBeDefined();
      expect(refused.json()).toMatchObject({ status: 429 });
    } finally {
      await limited.close();
    }
  });
});
