// Audit end to end through the real service (PGlite, and PostgreSQL when available): the events of a
// tenant with their metadata as JSON pages and NDJSON, one aggregate's history, tenancy (another tenant's
// stream is 404, its events never appear), platform keys across tenants, bounded input, and a projection
// replay followed over Server-Sent Events.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    let platformKey: string;
    let acmeKey: string;
    let globexKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-audit-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      acmeKey = (await service.apiKeys.create({ tenantId: 'acme', userId: 'ann', name: 'a', permissions: ['admin'] })).apiKey;
      globexKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'gus', name: 'g', permissions: ['admin'] })).apiKey;
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST', url: string, key: string, options: { body?: object; headers?: Record<string, string> } = {}) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...options.headers },
        ...(options.body ? { payload: options.body } : {}),
      });

    let acmeCategory: string;
    let globexCategory: string;

    it("lists a tenant's events with who, when, correlation and causation; never another tenant's", async () => {
      const created = await call('POST', '/v1/categories', acmeKey, {
        body: { name: 'Audited' },
        headers: { 'x-correlation-id': 'corr-1' },
      });
      expect(created.statusCode).toBe(201);
      acmeCategory = created.json().categoryId;
      expect(
        (await call('POST', `/v1/categories/${acmeCategory}/archive`, acmeKey, { headers: { 'if-match': '"0"' } })).statusCode,
      ).toBeLessThan(300);
      globexCategory = (await call('POST', '/v1/categories', globexKey, { body: { name: 'Secret' } })).json().categoryId;

      const page = await call('GET', '/v1/audit/events?category=category', acmeKey);
      expect(page.statusCode).toBe(200);
      const { items, next } = page.json();
      expect(next).toBeNull();
      expect(items.map((item: { type: string }) => item.type)).toEqual(['CategoryCreated', 'CategoryArchived']);
      expect(items[0]).toMatchObject({
        streamId: categoryStreamId('acme', acmeCategory),
        category: 'category',
        revision: 0,
        tenantId: 'acme',
        userId: 'ann',
        correlationId: 'corr-1',
        data: { name: 'Audited' },
      });
      expect(items[0].causationId).toBe(items[0].commandId);
      expect(JSON.stringify(items)).not.toContain('globex');

      const byCorrelation = await call('GET', '/v1/audit/events?correlationId=corr-1', acmeKey);
      expect(byCorrelation.json().items.map((item: { type: string }) => item.type)).toContain('CategoryCreated');
      expect(byCorrelation.json().items.every((item: { correlationId: string }) => item.correlationId === 'corr-1')).toBe(true);
      // Asking for another tenant is asking for nothing.
      expect((await call('GET', '/v1/audit/events?tenantId=globex', acmeKey)).json()).toEqual({ items: [], next: null });
    });

    it('pages with a cursor and streams NDJSON of the same events', async () => {
      const first = (await call('GET', '/v1/audit/events?limit=1', acmeKey)).json();
      expect(first.items).toHaveLength(1);
      expect(first.next).toBe(first.items[0].position);
      const second = (await call('GET', `/v1/audit/events?limit=1&after=${first.next}`, acmeKey)).json();
      expect(second.items[0].position).not.toBe(first.items[0].position);

      const all = (await call('GET', '/v1/audit/events?limit=1000', acmeKey)).json().items;
      const streamed = await call('GET', '/v1/audit/events', acmeKey, { headers: { accept: 'application/x-ndjson' } });
      expect(streamed.statusCode).toBe(200);
      expect(streamed.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = streamed.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toEqual(all);
      const limited = await call('GET', '/v1/audit/events?limit=1', acmeKey, { headers: { accept: 'application/x-ndjson' } });
      expect(limited.body.trim().split('\n')).toHaveLength(1);
    });

    it("shows one aggregate's history; another tenant's stream is 404; a platform key sees every tenant", async () => {
      const history = await call('GET', `/v1/audit/streams/category-${acmeCategory}`, acmeKey);
      expect(history.statusCode).toBe(200);
      expect(history.json()).toMatchObject({ streamId: categoryStreamId('acme', acmeCategory), category: 'category', next: null });
      expect(history.json().items.map((item: { revision: number }) => item.revision)).toEqual([0, 1]);
      const foreign = await call('GET', `/v1/audit/streams/category-${globexCategory}`, acmeKey);
      expect(foreign.statusCode).toBe(404);
      const missing = await call('GET', '/v1/audit/streams/category-00000000-0000-4000-8000-000000000000', acmeKey);
      const { type, detail } = missing.json();
      expect(foreign.json()).toMatchObject({ type, detail });
      expect((await call('GET', `/v1/audit/streams/${categoryStreamId('globex', globexCategory)}`, platformKey)).statusCode).toBe(200);

      const everyone = (await call('GET', '/v1/audit/events?category=category&limit=1000', platformKey)).json().items;
      expect(new Set(everyone.map((item: { tenantId: string }) => item.tenantId))).toEqual(new Set(['acme', 'globex']));
      const globexOnly = (await call('GET', '/v1/audit/events?category=category&tenantId=globex', platformKey)).json().items;
      expect(globexOnly.map((item: { tenantId: string }) => item.tenantId)).toEqual(['globex']);
    });

    it('refuses bad input with 400 naming the field', async () => {
      for (const [query, field] of [
        ['after=99999999999999999999.1', 'query.after'],
        ['upTo=1.99999999999999999999', 'query.upTo'],
        ['from=2026-02-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'query.to'],
        ['after=5.5&upTo=4.4', 'query.upTo'],
        ['from=yesterday', 'query.from'],
        ['limit=1001', 'query.limit'],
        ['eventType=a%20b', 'query.eventType'],
        ['userId=' + 'x'.repeat(201), 'query.userId'],
        ['unknown=1', 'query'],
      ] as const) {
        const response = await call('GET', `/v1/audit/events?${query}`, acmeKey);
        expect(response.statusCode, query).toBe(400);
        expect(JSON.stringify(response.json().errors), query).toContain(field);
      }
      expect((await call('GET', '/v1/audit/events?userId=%00', acmeKey)).statusCode).toBe(400);
    });

    it('replays a projection from a position without taking it down, with progress as SSE (platform only)', async () => {
      const { position } = (await call('POST', '/v1/categories', acmeKey, { body: { name: 'Replayed' } })).json();
      expect((await call('POST', '/v1/admin/projections/categories/replay', acmeKey, { body: {} })).statusCode).toBe(403);
      expect((await call('POST', '/v1/admin/projections/nope/replay', platformKey, { body: {} })).statusCode).toBe(404);
      expect((await call('GET', '/v1/admin/projections/categories/replay', platformKey)).statusCode).toBe(404);
      const started = await call('POST', '/v1/admin/projections/categories/replay', platformKey, { body: {} });
      expect(started.statusCode).toBe(202);
      expect(started.json()).toMatchObject({ projection: 'categories', state: 'running', from: '0.0' });
      const sse = await call('GET', '/v1/admin/projections/categories/replay', platformKey, { headers: { accept: 'text/event-stream' } });
      expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
      const last = sse.body.trim().split('\n\n').at(-1)!;
      expect(last).toMatch(/^event: swapped\ndata: /);
      const done = JSON.parse(last.split('data: ')[1]!);
      expect(done).toMatchObject({ projection: 'categories', state: 'swapped', percent: 100 });
      expect(done.eventsReplayed).toBeGreaterThanOrEqual(4);
      // The read model answered throughout and still holds every category.
      const list = await call('GET', `/v1/categories?minPosition=${position}`, acmeKey);
      expect(list.json().items.map((item: { name: string }) => item.name)).toEqual(expect.arrayContaining(['Audited', 'Replayed']));
      const json = await call('GET', '/v1/admin/projections/categories/replay', platformKey);
      expect(json.json()).toMatchObject({ state: 'swapped' });
      expect((await call('POST', '/v1/admin/projections/categories/replay', platformKey, { body: { from: 'x' } })).statusCode).toBe(400);
    });
  });
}

e2e('audit end to end on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] audit end to end on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('audit end to end on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
