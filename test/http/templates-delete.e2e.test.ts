// Template deletion end to end through the real service (embedded PGlite, and PostgreSQL when available):
// a soft delete with If-Match and Idempotency-Key (204), after which the template is 404 on every read and
// gone from search and stats while its stream stays; its name is free again; children that are not
// archived block it, also when the read model has not yet projected them; undelete brings it back; other
// tenants get 404, system templates are read-only.
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

function suite(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let keyB: string;
    let platformKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-templates-delete-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: Method, url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? keyA}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });

    async function create(body: Record<string, unknown>, key = keyA) {
      const created = await call('POST', '/v1/templates', { key, body: { templateType: 'base', ...body } });
      expect(created.statusCode, created.body).toBe(201);
      const templateId = created.json().templateId as string;
      const activated = await call('POST', `/v1/templates/${templateId}/activate`, { key });
      expect(activated.statusCode, activated.body).toBe(200);
      return { templateId, position: activated.json().position as string };
    }

    const unique = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

    it('deletes with If-Match and Idempotency-Key: 204, then 404 everywhere, out of search and stats, name free', async () => {
      const name = unique('Pottery');
      const { templateId, position } = await create({ name });
      const statsBefore = (await call('GET', `/v1/templates/stats?minPosition=${position}`)).json();

      const stale = await call('DELETE', `/v1/templates/${templateId}`, { headers: { 'if-match': '"0"' } });
      expect(stale.statusCode).toBe(409);
      expect(stale.headers.etag).toBe('"1"');

      const headers = { 'if-match': '"1"', 'idempotency-key': `delete-${randomUUID()}` };
      const deleted = await call('DELETE', `/v1/templates/${templateId}`, { headers });
      expect(deleted.statusCode, deleted.body).toBe(204);
      expect(deleted.body).toBe('');
      expect(deleted.headers.etag).toBe('"2"');
      const at = deleted.headers['x-event-position'] as string;
      expect(at).toMatch(/^\d+\.\d+$/);
      const again = await call('DELETE', `/v1/templates/${templateId}`, { headers });
      expect(again.statusCode).toBe(204);
      expect(again.headers['idempotent-replay']).toBe('true');

      for (const url of [`/v1/templates/${templateId}`, `/v1/templates/${templateId}/versions`, `/v1/templates/${templateId}/history`]) {
        const read = await call('GET', `${url}?minPosition=${at}`);
        expect(read.statusCode, url).toBe(404);
      }
      const search = (
        await call('GET', `/v1/templates?q=${encodeURIComponent(name)}&status=active,draft,archived,deprecated&minPosition=${at}`)
      ).json();
      expect(search.total).toBe(0);
      const stats = (await call('GET', `/v1/templates/stats?minPosition=${at}`)).json();
      expect(stats.templates).toBe(statsBefore.templates - 1);
      expect(stats.activeCount).toBe(statsBefore.activeCount - 1);
      // Every command on it is 404 now; the stream is history and stays.
      expect((await call('PATCH', `/v1/templates/${templateId}`, { body: { description: 'x' } })).statusCode).toBe(404);
      expect((await call('DELETE', `/v1/templates/${templateId}`)).statusCode).toBe(404);
      const events = await service.eventStore.readStream(`template-${templateId}`);
      expect(events.map((event) => event.type)).toEqual(['TemplateCreated', 'TemplateActivated', 'TemplateDeleted']);
      // Its name is free for a new template.
      const reused = await call('POST', '/v1/templates', { body: { name, templateType: 'base' } });
      expect(reused.statusCode, reused.body).toBe(201);
    });

    it('undeletes back to the status it had, and refuses when its name was taken in between', async () => {
      const name = unique('Weaving');
      const { templateId } = await create({ name });
      expect((await call('DELETE', `/v1/templates/${templateId}`)).statusCode).toBe(204);
      const back = await call('POST', `/v1/templates/${templateId}/undelete`, { headers: { 'if-match': '"2"' } });
      expect(back.statusCode, back.body).toBe(200);
      const one = await call('GET', `/v1/templates/${templateId}?minPosition=${back.json().position}`);
      expect(one.json()).toMatchObject({ status: 'active', name });

      expect((await call('DELETE', `/v1/templates/${templateId}`)).statusCode).toBe(204);
      await create({ name });
      const taken = await call('POST', `/v1/templates/${templateId}/undelete`);
      expect(taken.statusCode).toBe(409);
      expect(taken.json().rule).toBe('template.name.unique');
      // Another tenant cannot undelete it either: 404.
      expect((await call('POST', `/v1/templates/${templateId}/undelete`, { key: keyB })).statusCode).toBe(404);
    });

    it('answers 404 for another tenant’s template, public or not, and 403 for a system template', async () => {
      const hidden = await create({ name: unique('Private') });
      const shared = await create({ name: unique('Public'), isPublic: true });
      for (const { templateId } of [hidden, shared]) {
        const refused = await call('DELETE', `/v1/templates/${templateId}`, { key: keyB });
        expect(refused.statusCode).toBe(404);
        expect(refused.json().rule).toBe('template.not_found');
      }
      const system = await call('POST', '/v1/templates', {
        key: platformKey,
        body: { name: unique('System'), templateType: 'base', isSystemTemplate: true },
      });
      expect(system.statusCode, system.body).toBe(201);
      for (const key of [keyA, platformKey]) {
        const refused = await call('DELETE', `/v1/templates/${system.json().templateId}`, { key });
        expect(refused.statusCode).toBe(403);
        expect(refused.json().rule).toBe('template.system.read_only');
      }
      expect((await call('DELETE', `/v1/templates/${randomUUID()}`)).statusCode).toBe(404);
      expect((await call('DELETE', '/v1/templates/not-a-uuid')).statusCode).toBe(400);
    });

    it('counts another tenant’s child under a public template without naming it', async () => {
      const shared = await create({ name: unique('Shared parent'), isPublic: true });
      const foreign = await call('POST', '/v1/templates', {
        key: keyB,
        body: { name: unique('Foreign child'), templateType: 'base', parentTemplateId: shared.templateId },
      });
      expect(foreign.statusCode, foreign.body).toBe(201);
      const refused = await call('DELETE', `/v1/templates/${shared.templateId}`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().rule).toBe('template.delete.active_children');
      expect(refused.body).toContain('1 of other tenants');
      expect(refused.body).not.toContain(foreign.json().templateId);
    });

    it('refuses while children that are not archived inherit from it, even ones the read model has not projected yet', async () => {
      for (let round = 0; round < 5; round++) {
        const parent = await create({ name: unique('Parent') });
        // Created and at once the parent deleted, without waiting for any projection.
        const child = await call('POST', '/v1/templates', {
          body: { name: unique('Child'), templateType: 'base', parentTemplateId: parent.templateId },
        });
        expect(child.statusCode, child.body).toBe(201);
        const refused = await call('DELETE', `/v1/templates/${parent.templateId}`);
        expect(refused.statusCode, refused.body).toBe(409);
        expect(refused.json()).toMatchObject({ rule: 'template.delete.active_children' });
        expect(refused.json().detail ?? refused.json().message ?? refused.body).toContain(child.json().templateId);
        // Archived children keep their link; they no longer block.
        expect((await call('POST', `/v1/templates/${child.json().templateId}/archive`)).statusCode).toBe(200);
        expect((await call('DELETE', `/v1/templates/${parent.templateId}`)).statusCode).toBe(204);
      }
    });
  });
}

suite('template deletion end to end on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.url) {
  suite('template deletion end to end on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
}
