// Bad input at the HTTP edge is a 400 that names the field and writes nothing, never a 500:
// - #5: a NUL character or a lone UTF-16 surrogate in any text (values and object keys, body and query);
// - #7: JSON nested past the documented depth, however deep (a recursive validator would overflow);
// - #8: numbers in query filters outside their column's range.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { comparePositions, parsePosition, type Position } from '../../src/ports/event-store.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT';

/** `{"a":{"a":…{"a":1}}}`, `levels` objects deep, as JSON text (JSON.stringify itself recurses). */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

function edgeSuite(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let platformKey: string;
    let writer: string;
    let templateId: string;
    let categoryId: string;
    let setupPosition: Position;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-edge-'));
      service = await startService(
        loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', TEMPLATE_OPS_PER_MINUTE: '10000', ...(await environment()) }),
        pino({ level: 'silent' }),
        {
          defaultMetrics: false,
        },
      );
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      writer = (
        await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'w', permissions: ['templates:write', 'categories:write'] })
      ).apiKey;
      const created = await call('POST', '/v1/templates', { body: { name: 'Edge base', templateType: 'base' } });
      templateId = created.json().templateId;
      expect((await call('POST', `/v1/templates/${templateId}/activate`)).statusCode).toBe(200);
      const category = (await call('POST', '/v1/categories', { body: { name: 'Edge category' } })).json();
      categoryId = category.categoryId;
      setupPosition = parsePosition(category.position) as Position;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    function call(method: Method, url: string, options: { key?: string; body?: unknown; raw?: string } = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? writer}` };
      if (options.raw !== undefined) headers['content-type'] = 'application/json';
      const payload = options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
      if (payload !== undefined && options.raw === undefined) headers['content-type'] = 'application/json';
      return service.http.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    }

    /** A 400 problem naming `field` (or, with `prefix`, a field under it: an object key is named escaped). */
    async function expectRefused(response: Awaited<ReturnType<typeof call>>, field: string, rule?: string, prefix = false) {
      expect(response.statusCode, `${field}: ${response.body.slice(0, 300)}`).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      const errors = response.json().errors as { field: string; rule: string }[];
      const named = errors.filter(
        (error) => (prefix ? error.field.startsWith(`${field}.`) : error.field === field) && (rule === undefined || error.rule === rule),
      );
      expect(named, response.body.slice(0, 300)).not.toEqual([]);
    }

    /** The head once it covers the setup's writes (PostgreSQL's visible head may trail a fresh commit). */
    async function settledHead(): Promise<Position> {
      for (;;) {
        const head = await service.eventStore.headPosition();
        if (comparePositions(head, setupPosition) >= 0) return head;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** The types of the events written after `head`, once the log shows everything up to `last` (a
     * position a command answered with): PostgreSQL's readers stop below the oldest open transaction. */
    async function writtenSince(head: Position, last: string): Promise<string[]> {
      const until = parsePosition(last) as Position;
      for (;;) {
        const { events } = await service.eventStore.readAll({ after: head, maxCount: 100 });
        if (events.some((event) => comparePositions(event.position, until) >= 0)) return events.map((event) => event.type);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const BAD_TEXT = { nul: 'a\u0000b', 'lone high surrogate': 'a\ud800b', 'lone low surrogate': '\udc00' };

    it('refuses NUL and lone surrogates in every stored text, body and query, naming the field and writing nothing', async () => {
      const head = await settledHead();
      for (const [kind, bad] of Object.entries(BAD_TEXT)) {
        const name = () => `Edge ${randomUUID().slice(0, 8)}`;
        const cases: [Method, string, unknown, string, boolean?][] = [
          ['POST', '/v1/templates', { name: bad, templateType: 'base' }, 'body.name'],
          ['POST', '/v1/templates', { name: name(), templateType: 'base', description: bad }, 'body.description'],
          [
            'POST',
            '/v1/templates',
            { name: name(), templateType: 'base', dynamicProperties: { apiSecret: bad } },
            'body.dynamicProperties.apiSecret',
          ],
          [
            'POST',
            '/v1/templates',
            { name: name(), templateType: 'base', dynamicProperties: { list: [1, { deep: bad }] } },
            'body.dynamicProperties.list.1.deep',
          ],
          [
            'POST',
            '/v1/templates',
            { name: name(), templateType: 'base', dynamicProperties: { [`k${bad}`]: 1 } },
            'body.dynamicProperties',
            true,
          ],
          [
            'POST',
            '/v1/templates',
            { name: name(), templateType: 'base', uiConfiguration: { [bad]: { x: 1 } } },
            'body.uiConfiguration',
            true,
          ],
          ['POST', '/v1/templates', { name: name(), templateType: 'base', tags: [{ name: bad }] }, 'body.tags.0.name'],
          ['POST', '/v1/templates', { name: name(), templateType: 'base', tags: [{ name: 'ok', value: bad }] }, 'body.tags.0.value'],
          ['PATCH', `/v1/templates/${templateId}`, { validationRules: { rule: bad } }, 'body.validationRules.rule'],
          ['POST', `/v1/templates/${templateId}/tags`, { tags: [{ name: bad }] }, 'body.tags.0.name'],
          [
            'POST',
            `/v1/templates/${templateId}/usages`,
            { usageType: 'create_course', outcome: 'error', errorMessage: bad },
            'body.errorMessage',
          ],
          [
            'POST',
            `/v1/templates/${templateId}/usages`,
            { usageType: 'create_course', outcome: 'success', customizations: { [bad]: true } },
            'body.customizations',
            true,
          ],
          ['POST', '/v1/categories', { name: bad }, 'body.name'],
          ['PATCH', `/v1/categories/${categoryId}`, { description: bad }, 'body.description'],
          ['POST', '/v1/api-keys', { name: bad, permissions: ['templates:read'] }, 'body.name'],
        ];
        for (const [method, url, body, field, isKey] of cases) {
          const response = await call(method, url, { body, key: url.startsWith('/v1/api-keys') ? platformKey : writer });
          expect(kind).toBeTruthy();
          await expectRefused(response, field, 'text.characters', isKey);
        }
      }
      await expectRefused(await call('GET', '/v1/templates?q=a%00b'), 'query.q', 'text.characters');
      await expectRefused(await call('GET', '/v1/templates?tags=topic:a%00b'), 'query.tags', 'text.characters');
      await expectRefused(await call('GET', '/v1/categories?q=a%00b'), 'query.q', 'text.characters');
      // The escaped forms in raw JSON, as a client would send them.
      await expectRefused(
        await call('POST', '/v1/templates', { raw: '{"name":"x\\u0000y","templateType":"base"}' }),
        'body.name',
        'text.characters',
      );
      await expectRefused(
        await call('POST', '/v1/templates', { raw: '{"name":"x\\ud83dy","templateType":"base"}' }),
        'body.name',
        'text.characters',
      );
      // A well-formed pair (an emoji) is fine.
      const emoji = await call('POST', '/v1/templates', {
        raw: `{"name":"Emoji \\ud83d\\ude00 ${randomUUID().slice(0, 6)}","templateType":"base"}`,
      });
      expect(emoji.statusCode).toBe(201);
      // Only the emoji template was written: its name claim and its creation.
      expect(await writtenSince(head, emoji.json().position)).toEqual(['ReservationClaimed', 'TemplateCreated']);
    });

    it('guards every route added for deployments, backups, restores and audit the same way, writing nothing', async () => {
      const head = await settledHead();
      const id = randomUUID();
      const routes: [Method, string][] = [
        ['POST', '/v1/environments'],
        ['PATCH', `/v1/environments/${id}`],
        ['POST', '/v1/configs'],
        ['POST', '/v1/config-templates'],
        ['POST', '/v1/deployments'],
        ['POST', `/v1/deployments/${id}/releases`],
        ['POST', '/v1/backups'],
        ['POST', `/v1/backups/${id}/restore`],
        ['POST', '/v1/backup-policies'],
        ['POST', '/v1/tenant-restores'],
      ];
      for (const [method, url] of routes) {
        for (const bad of Object.values(BAD_TEXT)) {
          await expectRefused(await call(method, url, { key: platformKey, body: { name: bad } }), 'body.name', 'text.characters');
        }
        await expectRefused(await call(method, url, { key: platformKey, raw: `{"name":"x","data":${nested(10_000)}}` }), 'body.data');
      }
      const { events } = await service.eventStore.readAll({ after: head, maxCount: 10 });
      expect(events.map((event) => event.type)).toEqual([]);
    });

    it('refuses JSON nested past the limit with a 400 naming the field, however deep, before any recursive check', async () => {
      const head = await settledHead();
      for (const levels of [17, 2_000, 10_000]) {
        const created = await call('POST', '/v1/templates', {
          raw: `{"name":"Deep ${levels}","templateType":"base","dynamicProperties":${nested(levels)}}`,
        });
        await expectRefused(created, 'body.dynamicProperties');
        const usage = await call('POST', `/v1/templates/${templateId}/usages`, {
          raw: `{"usageType":"create_course","outcome":"success","customizations":${nested(levels)}}`,
        });
        await expectRefused(usage, 'body.customizations');
        const patched = await call('PATCH', `/v1/templates/${templateId}`, { raw: `{"uiConfiguration":${nested(levels)}}` });
        await expectRefused(patched, 'body.uiConfiguration');
      }
      // A 10,000-deep body anywhere: an unknown field, a string field, a bare array.
      await expectRefused(await call('POST', '/v1/categories', { raw: `{"name":"x","extra":${nested(10_000)}}` }), 'body.extra');
      await expectRefused(await call('POST', '/v1/categories', { raw: `{"name":${nested(10_000)}}` }), 'body.name');
      await expectRefused(
        await call('POST', '/v1/categories', { raw: `${'['.repeat(10_000)}${']'.repeat(10_000)}` }),
        'body.0',
        'json.depth',
      );
      await expectRefused(
        await call('POST', '/v1/api-keys', { key: platformKey, raw: `{"name":"k","permissions":${nested(10_000)}}` }),
        'body.permissions',
      );
      // Exactly 16 levels is allowed.
      const sixteen = await call('POST', '/v1/templates', {
        raw: `{"name":"Deep ok ${randomUUID().slice(0, 6)}","templateType":"base","dynamicProperties":${nested(16)}}`,
      });
      expect(sixteen.statusCode).toBe(201);
      expect(await writtenSince(head, sixteen.json().position)).toEqual(['ReservationClaimed', 'TemplateCreated']);
    });

    it('bounds every numeric query parameter to its column range: 400 naming the parameter', async () => {
      const templateParams = ['priceMin', 'priceMax', 'durationMin', 'durationMax', 'page', 'pageSize'];
      for (const parameter of templateParams) {
        for (const value of ['2147483648', '1e10', '1e400', '-1', 'NaN', '9007199254740993', '1.5', 'abc']) {
          if (parameter.startsWith('price') && (value === '2147483648' || value === '1e10')) continue; // prices are bigint: in range
          await expectRefused(await call('GET', `/v1/templates?${parameter}=${value}`), `query.${parameter}`);
        }
      }
      // In range: prices up to the largest safe integer (bigint column), durations up to int4.
      expect((await call('GET', '/v1/templates?priceMin=10000000000&priceMax=9007199254740991')).statusCode).toBe(200);
      expect((await call('GET', '/v1/templates?durationMin=0&durationMax=2147483647')).statusCode).toBe(200);
      for (const parameter of ['limit', 'offset']) {
        for (const value of ['2147483648', '1e10', '1e400', '-1', 'NaN'])
          await expectRefused(await call('GET', `/v1/categories?${parameter}=${value}`), `query.${parameter}`);
      }
      for (const value of ['2147483648', '1e10', '-1', 'NaN'])
        await expectRefused(await call('GET', `/v1/templates/${templateId}/usage?days=${value}`), 'query.days');
      const restore = await call('POST', `/v1/templates/${templateId}/versions/1e10/restore`);
      await expectRefused(restore, 'params.version');
    });
  });
}

edgeSuite('input edge on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] input edge on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) edgeSuite('input edge on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
