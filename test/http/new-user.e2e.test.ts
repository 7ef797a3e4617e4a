// What a new user trips over (issue 7, item 22), end to end through the real service on embedded PGlite
// and on PostgreSQL when available: media types, empty lifecycle bodies, asOf as a date, one paging
// convention for every list, listing API keys, category references and inherited participant bounds.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let otherKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-new-user-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      otherKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: Method,
      url: string,
      options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
        ...(options.raw !== undefined ? { payload: options.raw } : {}),
      });
    const unique = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

    /** Events after `after` whose data mentions `text` (case-insensitively). */
    async function eventsMentioning(after: Awaited<ReturnType<Service['eventStore']['headPosition']>>, text: string) {
      const found: string[] = [];
      for (let from = after, end = false; !end;) {
        const page = await service.eventStore.readAll({ after: from, maxCount: 1000 });
        found.push(
          ...page.events
            .filter((event) => JSON.stringify(event.data).toLowerCase().includes(text.toLowerCase()))
            .map((event) => `${event.streamId} ${event.type}`),
        );
        from = page.lastPosition;
        end = page.isEnd;
      }
      return found;
    }

    async function createTemplate(body: Record<string, unknown>) {
      const created = await call('POST', '/v1/templates', { body: { templateType: 'base', name: unique('T'), ...body } });
      expect(created.statusCode, created.body).toBe(201);
      return created.json() as { templateId: string; position: string; revision: number };
    }

    it('answers 415 to a text/plain body, as documented, and writes nothing', async () => {
      const before = await service.eventStore.headPosition();
      const name = unique('Plain');
      const response = await call('POST', '/v1/categories', { raw: JSON.stringify({ name }), headers: { 'content-type': 'text/plain' } });
      expect(response.statusCode).toBe(415);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(await eventsMentioning(before, name)).toEqual([]);
    });

    it('accepts an empty body on a lifecycle POST, with or without a JSON content type', async () => {
      const { templateId } = await createTemplate({});
      const activated = await call('POST', `/v1/templates/${templateId}/activate`, {
        raw: '',
        headers: { 'content-type': 'application/json' },
      });
      expect(activated.statusCode, activated.body).toBe(200);
      const category = (await call('POST', '/v1/categories', { body: { name: unique('Empty') } })).json();
      const archived = await call('POST', `/v1/categories/${category.categoryId}/archive`, {
        raw: '',
        headers: { 'content-type': 'application/json' },
      });
      expect(archived.statusCode, archived.body).toBe(200);
      // A route that needs a body still refuses an empty one, naming it.
      const empty = await call('POST', '/v1/categories', { raw: '', headers: { 'content-type': 'application/json' } });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().errors[0]).toMatchObject({ field: 'body' });
    });

    it('accepts asOf as an ISO date (start of that day, UTC) as well as a date-time', async () => {
      const { templateId, position } = await createTemplate({});
      const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
      const tomorrow = await call('GET', `/v1/templates/${templateId}?asOf=${day(1)}`);
      expect(tomorrow.statusCode, tomorrow.body).toBe(200);
      expect(tomorrow.json()).toMatchObject({ templateId, version: 1 });
      // The template did not exist at 00:00 UTC today.
      const startOfToday = await call('GET', `/v1/templates/${templateId}?asOf=${day(0)}`);
      expect(startOfToday.statusCode).toBe(404);
      expect(
        (
          await call(
            'GET',
            `/v1/templates/${templateId}?asOf=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&minPosition=${position}`,
          )
        ).statusCode,
      ).toBe(200);
      const bad = await call('GET', `/v1/templates/${templateId}?asOf=2026-13-45`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors[0].field).toBe('query.asOf');
    });

    it('pages every list the same way: page and pageSize in, items/total/page/pageSize/pages/hasNext/hasPrevious out', async () => {
      const marker = randomUUID().slice(0, 8);
      let position = '';
      for (let i = 0; i < 3; i++)
        position = (await call('POST', '/v1/categories', { body: { name: `Paged ${marker} ${i}` } })).json().position;
      const categories = await call('GET', `/v1/categories?q=${marker}&page=2&pageSize=2&minPosition=${position}`);
      expect(categories.statusCode, categories.body).toBe(200);
      expect(categories.json()).toMatchObject({ total: 3, page: 2, pageSize: 2, pages: 2, hasNext: false, hasPrevious: true });
      expect(categories.json().items.map((c: { name: string }) => c.name)).toEqual([`Paged ${marker} 2`]);
      expect((await call('GET', '/v1/categories?limit=10')).statusCode).toBe(400);
      expect((await call('GET', '/v1/categories?pageSize=0')).json().errors[0].field).toBe('query.pageSize');

      const { templateId } = await createTemplate({});
      let last = '';
      for (const description of ['one', 'two', 'three'])
        last = (await call('PATCH', `/v1/templates/${templateId}`, { body: { description } })).json().position;
      const versions = await call('GET', `/v1/templates/${templateId}/versions?page=2&pageSize=3&minPosition=${last}`);
      expect(versions.statusCode, versions.body).toBe(200);
      expect(versions.json()).toMatchObject({ total: 4, page: 2, pageSize: 3, pages: 2, hasNext: false, hasPrevious: true });
      expect(versions.json().items.map((v: { version: number }) => v.version)).toEqual([4]);
      const history = await call('GET', `/v1/templates/${templateId}/history?pageSize=2&minPosition=${last}`);
      expect(history.json()).toMatchObject({ total: 4, page: 1, pageSize: 2, pages: 2, hasNext: true, hasPrevious: false });
      expect(history.json().items.map((h: { revision: number }) => h.revision)).toEqual([0, 1]);
      const search = await call('GET', `/v1/templates?status=draft&pageSize=1&minPosition=${last}`);
      expect(search.json()).toMatchObject({ page: 1, pageSize: 1, hasPrevious: false });
    });

    it('lists the tenant’s API keys without secrets, so the bootstrap key can be found and revoked', async () => {
      const spare = (await call('POST', '/v1/api-keys', { body: { name: 'spare', permissions: ['templates:read'] } })).json();
      const listed = await call('GET', '/v1/api-keys?pageSize=100');
      expect(listed.statusCode, listed.body).toBe(200);
      const body = listed.json();
      expect(body).toMatchObject({ page: 1, pageSize: 100 });
      const names = body.items.map((k: { name: string }) => k.name);
      expect(names).toEqual(expect.arrayContaining(['bootstrap', 'spare']));
      expect(names).not.toContain('other'); // another tenant's key
      const bootstrap = body.items.find((k: { name: string }) => k.name === 'bootstrap');
      expect(bootstrap).toMatchObject({
        keyId: expect.stringMatching(/^[a-z0-9]{12}$/),
        tenantId: 'default',
        userId: 'bootstrap-admin',
        permissions: ['admin', 'platform'],
        revokedAt: null,
      });
      expect(adminKey).toContain(`kyo_${bootstrap.keyId}_`);
      expect(JSON.stringify(body)).not.toMatch(/kyo_|secret/i);
      expect((await call('DELETE', `/v1/api-keys/${spare.keyId}`)).statusCode).toBe(204);
      const after = (await call('GET', '/v1/api-keys?pageSize=100')).json();
      expect(after.items.find((k: { keyId: string }) => k.keyId === spare.keyId).revokedAt).toEqual(expect.any(String));
      expect(
        (
          await call('GET', '/v1/api-keys', {
            key: (await service.apiKeys.create({ tenantId: 'default', userId: 'r', name: 'r', permissions: ['templates:read'] })).apiKey,
          })
        ).statusCode,
      ).toBe(403);
    });

    it('refuses a categoryId that does not exist, is archived or is another tenant’s with 422 naming the field', async () => {
      const active = (await call('POST', '/v1/categories', { body: { name: unique('Active') } })).json().categoryId as string;
      const archived = (await call('POST', '/v1/categories', { body: { name: unique('Archived') } })).json().categoryId as string;
      expect((await call('POST', `/v1/categories/${archived}/archive`)).statusCode).toBe(200);
      const theirs = (await call('POST', '/v1/categories', { key: otherKey, body: { name: unique('Theirs') } })).json()
        .categoryId as string;
      const before = await service.eventStore.headPosition();
      const refusedName = unique('Refused');
      for (const [categoryId, rule] of [
        [randomUUID(), 'template.category.not_found'],
        [archived, 'template.category.archived'],
        [theirs, 'template.category.not_found'],
      ] as const) {
        const refused = await call('POST', '/v1/templates', { body: { templateType: 'base', name: refusedName, categoryId } });
        expect([categoryId, refused.statusCode]).toEqual([categoryId, 422]);
        expect(refused.json()).toMatchObject({ rule, errors: [{ field: 'body.categoryId', rule }] });
      }
      // Nothing written: no template and no name reservation. (The visible head itself can move here on
      // PostgreSQL: it trails the projector's open transactions.)
      expect(await eventsMentioning(before, refusedName)).toEqual([]);
      const { templateId } = await createTemplate({ categoryId: active.toUpperCase() });
      const update = await call('PATCH', `/v1/templates/${templateId}`, { body: { categoryId: archived } });
      expect(update.statusCode).toBe(422);
      expect(update.json()).toMatchObject({ rule: 'template.category.archived', errors: [{ field: 'body.categoryId' }] });
      expect((await call('PATCH', `/v1/templates/${templateId}`, { body: { categoryId: null } })).statusCode).toBe(200);

      // A retried create (same Idempotency-Key) is answered with its first result, even if the category
      // was archived in between.
      const headers = { 'idempotency-key': `create-${randomUUID()}` };
      const body = { templateType: 'base', name: unique('Retried'), categoryId: active };
      const first = await call('POST', '/v1/templates', { body, headers });
      expect(first.statusCode).toBe(201);
      expect((await call('POST', `/v1/categories/${active}/archive`)).statusCode).toBe(200);
      const again = await call('POST', '/v1/templates', { body, headers });
      expect(again.statusCode, again.body).toBe(201);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect((await call('POST', '/v1/templates', { body: { ...body, name: unique('Fresh') } })).statusCode).toBe(422);
    });

    it('refuses effective minimum participants above the effective maximum after inheritance', async () => {
      const parent = await createTemplate({ defaultMaxParticipants: 10, defaultMinParticipants: 2 });
      const refused = await call('POST', '/v1/templates', {
        body: { templateType: 'custom', name: unique('Child'), parentTemplateId: parent.templateId, defaultMinParticipants: 20 },
      });
      expect(refused.statusCode).toBe(422);
      expect(refused.json()).toMatchObject({
        rule: 'template.participants.effective_order',
        errors: [{ field: 'body.defaultMinParticipants' }],
      });
      const child = await createTemplate({ parentTemplateId: parent.templateId, defaultMinParticipants: 5 });
      const update = await call('PATCH', `/v1/templates/${child.templateId}`, { body: { defaultMinParticipants: 11 } });
      expect(update.statusCode).toBe(422);
      expect(update.json().errors[0].field).toBe('body.defaultMinParticipants');
      // Raising the child's own maximum with it is fine.
      expect(
        (await call('PATCH', `/v1/templates/${child.templateId}`, { body: { defaultMinParticipants: 11, defaultMaxParticipants: 12 } }))
          .statusCode,
      ).toBe(200);
      // A maximum below an inherited minimum, and a parent whose bounds clash with the template's own.
      const lowMax = await call('POST', '/v1/templates', {
        body: { templateType: 'custom', name: unique('Low'), parentTemplateId: parent.templateId, defaultMaxParticipants: 1 },
      });
      expect(lowMax.json()).toMatchObject({ status: 422, errors: [{ field: 'body.defaultMaxParticipants' }] });
      const big = await createTemplate({ defaultMinParticipants: 50 });
      const reparent = await call('PUT', `/v1/templates/${big.templateId}/parent`, { body: { parentTemplateId: parent.templateId } });
      expect(reparent.statusCode).toBe(422);
      expect(reparent.json().errors[0].field).toBe('body.parentTemplateId');
    });
  });
}

e2e('a new user on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] a new user on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('a new user on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
