// Derived data obeys tenancy, end to end through the real service (embedded PGlite, and PostgreSQL when
// available): content inherited from another tenant's template stops flowing when that template goes
// private (#7.1), search pages cached for a tenant that could see a template are dropped when it goes
// private (#7.2), and a projection rebuild drops every cached answer built from the old tables (#7.13).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parsePosition } from '../../src/ports/event-store.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService, redisService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function tenancySuite(
  label: string,
  environment: () => Promise<Record<string, string>>,
  options: { memoryCache: boolean } = { memoryCache: true },
) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let keyB: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-template-tenancy-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: Method, url: string, key: string, body?: unknown) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });

    async function command(method: Method, url: string, key: string, body?: unknown): Promise<string> {
      const response = await call(method, url, key, body);
      expect(response.statusCode, response.body).toBeLessThan(300);
      return response.json().position as string;
    }

    async function create(key: string, body: Record<string, unknown>) {
      const created = await call('POST', '/v1/templates', key, { templateType: 'base', ...body });
      expect(created.statusCode, created.body).toBe(201);
      const templateId = created.json().templateId as string;
      const position = await command('POST', `/v1/templates/${templateId}/activate`, key);
      return { templateId, position };
    }

    /** Waits until the projection committed `position` and its afterCommit (the invalidation) ran. */
    async function projected(position: string) {
      await service.projections.waitFor(parsePosition(position)!, { timeoutMs: 5000, projections: ['templates'] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const unique = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

    it('#7.1 a child keeps what it could see of a parent that went private, flagged parentUnavailable', async () => {
      const parentName = unique('Shared base');
      const twoSteps = await create(keyA, {
        name: parentName,
        isPublic: true,
        dynamicProperties: { greeting: 'hello' },
        defaultDuration: 60,
      });
      const oneStep = await create(keyA, { name: unique('Shared base 2'), isPublic: true, dynamicProperties: { greeting: 'hi' } });
      const childName = unique('Globex child');
      const child = await create(keyB, { name: childName, parentTemplateId: twoSteps.templateId, dynamicProperties: { own: 1 } });
      const child2 = await create(keyB, {
        name: unique('Globex child 2'),
        parentTemplateId: oneStep.templateId,
        dynamicProperties: { own: 2 },
      });

      const before = await call('GET', `/v1/templates/${child.templateId}?minPosition=${child2.position}`, keyB);
      expect(before.json()).toMatchObject({
        effective: { dynamicProperties: { greeting: 'hello', own: 1 }, defaultDuration: 60 },
        parentUnavailable: false,
      });
      // Warm the caches the leak would be served from.
      expect((await call('GET', `/v1/templates?q=${encodeURIComponent(childName)}`, keyB)).json().items).toHaveLength(1);
      const beforePrivate = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 20));

      // A hides the parent, then writes a secret into it; and in one command for the other parent.
      await command('PATCH', `/v1/templates/${twoSteps.templateId}`, keyA, { isPublic: false });
      await command('PATCH', `/v1/templates/${twoSteps.templateId}`, keyA, {
        dynamicProperties: { greeting: 'hello', apiSecret: 's3cret' },
        defaultDuration: 5,
      });
      const last = await command('PATCH', `/v1/templates/${oneStep.templateId}`, keyA, {
        isPublic: false,
        dynamicProperties: { apiSecret: 'other-secret' },
      });
      await projected(last);

      const frozen = { dynamicProperties: { greeting: 'hello', own: 1 }, defaultDuration: 60 };
      const got = await call('GET', `/v1/templates/${child.templateId}`, keyB);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({ effective: frozen, parentUnavailable: true });
      expect(got.body).not.toContain('s3cret');
      const got2 = await call('GET', `/v1/templates/${child2.templateId}?minPosition=${last}`, keyB);
      expect(got2.json()).toMatchObject({ effective: { dynamicProperties: { greeting: 'hi', own: 2 } }, parentUnavailable: true });
      expect(got2.body).not.toContain('other-secret');

      for (const url of [
        `/v1/templates?q=${encodeURIComponent(childName)}`,
        `/v1/templates?q=${encodeURIComponent(childName)}&minPosition=${last}`,
      ]) {
        const search = await call('GET', url, keyB);
        expect(search.json().items).toHaveLength(1);
        expect(search.json().items[0]).toMatchObject({ effective: frozen, parentUnavailable: true });
        expect(search.body).not.toContain('s3cret');
      }

      const asOfNow = await call('GET', `/v1/templates/${child.templateId}?asOf=${encodeURIComponent(new Date().toISOString())}`, keyB);
      expect(asOfNow.statusCode).toBe(200);
      expect(asOfNow.json()).toMatchObject({ effective: frozen, parentUnavailable: true });
      expect(asOfNow.body).not.toContain('s3cret');
      const asOfNow2 = await call('GET', `/v1/templates/${child2.templateId}?asOf=${encodeURIComponent(new Date().toISOString())}`, keyB);
      expect(asOfNow2.json()).toMatchObject({ effective: { dynamicProperties: { greeting: 'hi', own: 2 } }, parentUnavailable: true });
      const asOfBefore = await call('GET', `/v1/templates/${child.templateId}?asOf=${encodeURIComponent(beforePrivate)}`, keyB);
      expect(asOfBefore.json()).toMatchObject({ effective: frozen, parentUnavailable: false });

      // The child's own changes still apply on top of the frozen inheritance.
      const edited = await command('PATCH', `/v1/templates/${child.templateId}`, keyB, { dynamicProperties: { own: 3 } });
      const afterEdit = await call('GET', `/v1/templates/${child.templateId}?minPosition=${edited}`, keyB);
      expect(afterEdit.json()).toMatchObject({
        effective: { dynamicProperties: { greeting: 'hello', own: 3 }, defaultDuration: 60 },
        parentUnavailable: true,
      });
      // The owner sees its own template as it is.
      expect((await call('GET', `/v1/templates/${twoSteps.templateId}`, keyA)).json().effective.dynamicProperties).toEqual({
        greeting: 'hello',
        apiSecret: 's3cret',
      });
      // And the private parent cannot be taken again.
      const reparent = await call('PUT', `/v1/templates/${child2.templateId}/parent`, keyB, { parentTemplateId: twoSteps.templateId });
      expect(reparent.statusCode).toBe(404);
      expect(reparent.json().rule).toBe('template.parent.not_found');
    });

    it('#7.2 a search page cached by another tenant drops a template that went private', async () => {
      const name = unique('Soon private');
      const { templateId, position } = await create(keyA, { name, isPublic: true });
      await projected(position);
      const before = await call('GET', `/v1/templates?q=${encodeURIComponent(name)}`, keyB);
      expect(before.json().items.map((item: { templateId: string }) => item.templateId)).toEqual([templateId]);
      await projected(await command('PATCH', `/v1/templates/${templateId}`, keyA, { isPublic: false }));
      expect((await call('GET', `/v1/templates/${templateId}`, keyB)).statusCode).toBe(404);
      const after = await call('GET', `/v1/templates?q=${encodeURIComponent(name)}`, keyB);
      expect(after.json()).toMatchObject({ total: 0, items: [] });
    });

    it.runIf(options.memoryCache)('#7.26 reports the in-process cache size and its bound in /metrics', async () => {
      await call('GET', '/v1/templates', keyA);
      const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/read_cache_size_bytes\{cache="memory"\} [1-9]/);
      expect(metrics).toMatch(/read_cache_max_bytes\{cache="memory"\} 33554432/);
      expect(metrics).toMatch(/read_cache_entries\{cache="memory"\} [1-9]/);
    });

    it('#7.13 a rebuild drops the answers cached from the old tables', async () => {
      const name = unique('Rebuilt');
      const { templateId, position } = await create(keyA, { name });
      await projected(position);
      // A projection bug, simulated: the live row says something no event said; readers cache it.
      await service.db.query(`UPDATE rm_templates.templates SET name = 'corrupted' WHERE template_id = $1`, [templateId]);
      expect((await call('GET', `/v1/templates/${templateId}`, keyA)).json().name).toBe('corrupted');
      expect((await call('GET', `/v1/templates?q=${encodeURIComponent(name)}`, keyA)).json().items[0].name).toBe('corrupted');
      await service.projections.rebuild('templates');
      expect((await call('GET', `/v1/templates/${templateId}`, keyA)).json().name).toBe(name);
      expect((await call('GET', `/v1/templates?q=${encodeURIComponent(name)}`, keyA)).json().items[0].name).toBe(name);
    });
  });
}

tenancySuite('template tenancy of derived data on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] template tenancy on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url)
  tenancySuite('template tenancy of derived data on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
const redis = redisService();
if (postgres.url && redis.url) {
  tenancySuite(
    'template tenancy of derived data on PostgreSQL with the Redis cache',
    async () => ({
      DATABASE_URL: await createTestDatabase(postgres.url!),
      REDIS_URL: redis.url!,
      REDIS_KEY_PREFIX: `tenancy${randomUUID().slice(0, 8)}`,
    }),
    { memoryCache: false },
  );
}
