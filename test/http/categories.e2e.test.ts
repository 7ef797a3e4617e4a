// End to end through the real service (embedded PGlite, and PostgreSQL when available): HTTP command →
// event → projection → HTTP query with read-your-writes, plus concurrency, idempotency and tenancy.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { categoryStreamId } from '../../src/domain/categories/index.js';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let otherTenantKey: string;
    let readerKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-e2e-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      const file = join(dataDir, 'bootstrap-api-key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      adminKey = readFileSync(file, 'utf8').trim();
      otherTenantKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] }))
        .apiKey;
      readerKey = (
        await service.apiKeys.create({ tenantId: 'default', userId: 'reader', name: 'reader', permissions: ['categories:read'] })
      ).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });

    it('creates, then reads its own write through minPosition', async () => {
      const created = await call('POST', '/v1/categories', { body: { name: 'Languages', description: 'Spoken and written' } });
      expect(created.statusCode).toBe(201);
      const { categoryId, revision, position } = created.json();
      expect(revision).toBe(0);
      expect(created.headers.etag).toBe('"0"');
      expect(created.headers.location).toBe(`/v1/categories/${categoryId}`);
      const one = await call('GET', `/v1/categories/${categoryId}?minPosition=${position}`);
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({
        categoryId,
        name: 'Languages',
        description: 'Spoken and written',
        status: 'active',
        revision: 0,
        createdBy: 'bootstrap-admin',
      });
      expect(one.headers.etag).toBe('"0"');
      const list = await call('GET', `/v1/categories?q=langu&minPosition=${position}`);
      expect(list.json()).toMatchObject({ total: 1, items: [{ categoryId }] });
    });

    it('keeps names unique per tenant among active categories, case-insensitively', async () => {
      expect((await call('POST', '/v1/categories', { body: { name: 'Music' } })).statusCode).toBe(201);
      const duplicate = await call('POST', '/v1/categories', { body: { name: '  music ' } });
      expect(duplicate.statusCode).toBe(409);
      expect(duplicate.json()).toMatchObject({ rule: 'category.name.unique', errors: [{ field: 'body.name' }] });
      // Another tenant has its own namespace.
      expect((await call('POST', '/v1/categories', { key: otherTenantKey, body: { name: 'Music' } })).statusCode).toBe(201);
    });

    it('frees a name when its category is archived and takes it back on restore only if free', async () => {
      const first = (await call('POST', '/v1/categories', { body: { name: 'Painting' } })).json();
      expect((await call('POST', `/v1/categories/${first.categoryId}/archive`)).statusCode).toBe(200);
      const second = await call('POST', '/v1/categories', { body: { name: 'Painting' } });
      expect(second.statusCode).toBe(201);
      const restore = await call('POST', `/v1/categories/${first.categoryId}/restore`);
      expect(restore.statusCode).toBe(409);
      expect(restore.json().rule).toBe('category.name.unique');
    });

    it('replays a command with the same Idempotency-Key without new events', async () => {
      const headers = { 'idempotency-key': `create-${Date.now()}` };
      const first = await call('POST', '/v1/categories', { body: { name: 'Dance' }, headers });
      const again = await call('POST', '/v1/categories', { body: { name: 'Dance' }, headers });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replay']).toBe('true');
      const events = await service.eventStore.readStream(categoryStreamId('default', first.json().categoryId));
      expect(events).toHaveLength(1);
    });

    it('honours If-Match: a stale revision gets 409 with the current one, and of two racing writers one wins', async () => {
      const { categoryId } = (await call('POST', '/v1/categories', { body: { name: 'Cooking' } })).json();
      const renamed = await call('PATCH', `/v1/categories/${categoryId}`, { body: { name: 'Cuisine' }, headers: { 'if-match': '"0"' } });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.headers.etag).toBe('"1"');
      const stale = await call('PATCH', `/v1/categories/${categoryId}`, { body: { description: 'late' }, headers: { 'if-match': '"0"' } });
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({ currentRevision: 1 });
      const race = await Promise.all(
        ['A', 'B'].map((suffix) =>
          call('PATCH', `/v1/categories/${categoryId}`, { body: { description: `by ${suffix}` }, headers: { 'if-match': '"1"' } }),
        ),
      );
      expect(race.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      const winner = race.findIndex((r) => r.statusCode === 200);
      const current = (await call('GET', `/v1/categories/${categoryId}?minPosition=${race[winner]!.json().position}`)).json();
      expect(current).toMatchObject({ revision: 2, name: 'Cuisine', description: `by ${['A', 'B'][winner]}` });
    });

    it('hides other tenants\u2019 categories behind 404 on every endpoint', async () => {
      const { categoryId, position } = (await call('POST', '/v1/categories', { body: { name: 'Secret' } })).json();
      await call('GET', `/v1/categories/${categoryId}?minPosition=${position}`);
      const other = { key: otherTenantKey };
      const missing = `/v1/categories/00000000-0000-4000-8000-000000000000`;
      for (const [method, url, body] of [
        ['GET', `/v1/categories/${categoryId}`, undefined],
        ['PATCH', `/v1/categories/${categoryId}`, { name: 'Mine now' }],
        ['POST', `/v1/categories/${categoryId}/archive`, undefined],
        ['POST', `/v1/categories/${categoryId}/restore`, undefined],
      ] as const) {
        const theirs = await call(method, url, { ...other, ...(body ? { body } : {}) });
        const absent = await call(method, url.replace(`/v1/categories/${categoryId}`, missing), { ...other, ...(body ? { body } : {}) });
        expect([url, theirs.statusCode]).toEqual([url, 404]);
        expect(theirs.json().type).toBe(absent.json().type);
      }
      const list = (await call('GET', `/v1/categories?minPosition=${position}`, other)).json();
      expect(list.items.map((c: { categoryId: string }) => c.categoryId)).not.toContain(categoryId);
      // The owner's category is untouched.
      expect((await call('GET', `/v1/categories/${categoryId}`)).json()).toMatchObject({ name: 'Secret', status: 'active', revision: 0 });
    });

    it('refuses bad input with problem+json naming the field, and writes nothing', async () => {
      const before = await service.eventStore.headPosition();
      const cases = [
        { body: { name: '' }, field: 'body.name' },
        { body: { name: 'x'.repeat(101) }, field: 'body.name' },
        { body: { name: 'ok', colour: 'red' }, field: 'body.colour' },
        { body: { name: 42 }, field: 'body.name' },
        { body: { name: 'ok', categoryId: 'not-a-uuid' }, field: 'body.categoryId' },
      ];
      for (const { body, field } of cases) {
        const response = await call('POST', '/v1/categories', { body });
        expect(response.statusCode).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      expect((await call('GET', '/v1/categories/not-a-uuid')).statusCode).toBe(400);
      expect((await call('GET', '/v1/categories?minPosition=abc')).json().errors[0].field).toBe('query.minPosition');
      expect((await call('GET', '/v1/categories?pageSize=0')).statusCode).toBe(400);
      expect(
        (
          await call('PATCH', '/v1/categories/00000000-0000-4000-8000-000000000000', {
            body: { name: 'x' },
            headers: { 'if-match': 'W/"x"' },
          })
        ).statusCode,
      ).toBe(400);
      expect((await call('POST', '/v1/categories', { key: readerKey, body: { name: 'Nope' } })).statusCode).toBe(403);
      expect(await service.eventStore.headPosition()).toEqual(before);
    });

    it('refuses a minPosition beyond the log after the bounded wait', async () => {
      const far = `${(await service.eventStore.headPosition()).commit + 1_000_000n}.0`;
      const started = Date.now();
      const response = await service.http.inject({
        method: 'GET',
        url: `/v1/categories?minPosition=${far}`,
        headers: { authorization: `Bearer ${adminKey}` },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0]).toMatchObject({ field: 'query.minPosition', rule: 'beyond_head' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    });

    it('rebuilds the projection on request, refusing a second rebuild while one runs', async () => {
      const { position } = (await call('POST', '/v1/categories', { body: { name: 'Theatre' } })).json();
      await call('GET', `/v1/categories?minPosition=${position}`);
      const before = (await call('GET', '/v1/categories?pageSize=100')).json();
      const started = await call('POST', '/v1/admin/projections/categories/rebuild');
      expect(started.statusCode).toBe(202);
      const second = await call('POST', '/v1/admin/projections/categories/rebuild');
      expect([409, 202]).toContain(second.statusCode); // 202 only if the first already finished
      expect((await call('POST', '/v1/admin/projections/nothing/rebuild')).statusCode).toBe(404);
      expect((await call('POST', '/v1/admin/projections/categories/rebuild', { key: readerKey })).statusCode).toBe(403);
      const deadline = Date.now() + 15_000;
      while ((await service.projections.status()).some((s) => s.state === 'rebuilding') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const after = (await call('GET', '/v1/categories?pageSize=100')).json();
      expect(after).toEqual(before);
    });

    it('serves health, readiness with projection lag, metrics and the OpenAPI document', async () => {
      expect((await service.http.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'ok' });
      const ready = await service.http.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().projections).toEqual([
        expect.objectContaining({ name: 'categories', state: 'running' }),
        expect.objectContaining({ name: 'templates', state: 'running' }),
        expect.objectContaining({ name: 'batches', state: 'running' }),
        expect.objectContaining({ name: 'environments', state: 'running' }),
        expect.objectContaining({ name: 'backups', state: 'running' }),
        expect.objectContaining({ name: 'deployments', state: 'running' }),
        expect.objectContaining({ name: 'restores', state: 'running' }),
        expect.objectContaining({ name: 'backup_policies', state: 'running' }),
      ]);
      const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain('http_request_duration_seconds_bucket');
      expect(metrics).toContain('event_store_append_duration_seconds');
      expect(metrics).toContain('projection_events_behind{projection="categories"}');
      const openapi = (await service.http.inject({ method: 'GET', url: '/docs/json' })).json();
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining(['/v1/categories', '/v1/categories/{categoryId}', '/v1/api-keys', '/ready']),
      );
    });
  });
}

e2e('categories end to end on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] categories end to end on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('categories end to end on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
