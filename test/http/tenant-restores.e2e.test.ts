// Tenant point-in-time restore end to end (PGlite, and PostgreSQL when available), with an injected clock
// so that events fall at known moments: the dry run lists what would change; the run appends restore
// events (never rewrites: the log only grows) so categories and templates read as they were; a retry with
// the same Idempotency-Key appends nothing; a name taken since is a reported per-aggregate failure; a
// target in the future or before the first event, and a pruned history, are refused before any write.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
    let acme: string;
    let globex: string;
    let now = new Date('2026-05-01T10:00:00Z');

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-tenant-restore-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false, clock: () => now });
      acme = (await service.apiKeys.create({ tenantId: 'acme', userId: 'ann', name: 'a', permissions: ['admin'] })).apiKey;
      globex = (await service.apiKeys.create({ tenantId: 'globex', userId: 'gus', name: 'g', permissions: ['admin'] })).apiKey;
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: 'GET' | 'POST' | 'PATCH',
      url: string,
      options: { key?: string; body?: object; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? acme}`, ...options.headers },
        ...(options.body ? { payload: options.body } : {}),
      });
    const created = async (url: string, body: object) => {
      const response = await call('POST', url, { body });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    };
    /** The log's length once everything committed so far is readable: a marker appended now is read back
     * first (readers stop below transactions still in flight, so a count taken at once could trail). */
    const logSize = async () => {
      const marker = randomUUID();
      await service.eventStore.append(`marker-${marker}`, [{ id: marker, type: 'Marker', data: {}, metadata: {} }], {
        expectedRevision: 'no_stream',
      });
      for (;;) {
        const events = (await service.eventStore.readAll({ maxCount: 100_000 })).events;
        if (events.some((event) => event.id === marker)) return events.filter((event) => !event.streamId.startsWith('marker-')).length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    let alpha: string;
    let beta: string;
    let gamma: string;
    let templateId: string;

    it('dry-runs, restores by appending, and repeats nothing on a retry', async () => {
      alpha = (await created('/v1/categories', { name: 'Alpha' })).categoryId;
      beta = (await created('/v1/categories', { name: 'Beta' })).categoryId;
      templateId = (await created('/v1/templates', { name: 'Course one', templateType: 'base', description: 'first' })).templateId;
      expect((await call('POST', '/v1/categories', { key: globex, body: { name: 'Theirs' } })).statusCode).toBe(201);

      now = new Date('2026-05-01T11:00:00Z');
      expect((await call('PATCH', `/v1/categories/${alpha}`, { body: { name: 'Alpha two' } })).statusCode).toBe(200);
      expect((await call('POST', `/v1/categories/${beta}/archive`)).statusCode).toBe(200);
      gamma = (await created('/v1/categories', { name: 'Gamma' })).categoryId;
      expect((await call('PATCH', `/v1/templates/${templateId}`, { body: { description: 'second' } })).statusCode).toBe(200);

      now = new Date('2026-05-01T12:00:00Z');
      const before = await logSize();
      const dry = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', dryRun: true } });
      expect(dry.statusCode, dry.body).toBe(200);
      const changes = dry.json().changes as { aggregateId: string; action: string; changed: string[] }[];
      const byId = new Map(changes.map((change) => [change.aggregateId, change]));
      expect(byId.get(alpha)).toMatchObject({ action: 'restore', changed: ['name'] });
      expect(byId.get(beta)).toMatchObject({ action: 'restore', changed: ['status'] });
      expect(byId.get(gamma)).toMatchObject({ action: 'archive' });
      expect(byId.get(templateId)).toMatchObject({ action: 'restore', changed: ['content'] });
      expect(changes).toHaveLength(4);
      expect(await logSize()).toBe(before);

      const headers = { 'idempotency-key': 'restore-0001' };
      const run = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z' }, headers });
      expect(run.statusCode, run.body).toBe(201);
      expect(run.json()).toMatchObject({ status: 'completed', planned: 4, result: { archived: 1, restored: 3, failures: [] } });
      const { restoreId, eventPosition } = run.json();
      const after = await logSize();
      expect(after).toBeGreaterThan(before);

      const category = async (id: string) => (await call('GET', `/v1/categories/${id}?minPosition=${eventPosition}`)).json();
      expect(await category(alpha)).toMatchObject({ name: 'Alpha', status: 'active' });
      expect(await category(beta)).toMatchObject({ name: 'Beta', status: 'active' });
      expect(await category(gamma)).toMatchObject({ name: 'Gamma', status: 'archived' });
      const template = (await call('GET', `/v1/templates/${templateId}?minPosition=${eventPosition}`)).json();
      expect(template).toMatchObject({ description: 'first' });
      // History is kept: the rename is still in the log, followed by the restore's rename.
      const history = (await call('GET', `/v1/audit/streams/category-${alpha}`)).json().items.map((item: { type: string }) => item.type);
      expect(history).toEqual(['CategoryCreated', 'CategoryRenamed', 'CategoryRenamed']);

      const again = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z' }, headers });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toMatchObject({ restoreId, status: 'completed', eventPosition });
      expect(await logSize()).toBe(after);

      const record = await call('GET', `/v1/tenant-restores/${restoreId}`);
      // The same answer as the POST's, eventPosition included.
      expect(record.json()).toEqual(run.json());
      expect((await call('GET', `/v1/tenant-restores/${restoreId}`, { key: globex })).statusCode).toBe(404);
      // The other tenant's category was never touched.
      const theirs = (await call('GET', '/v1/categories', { key: globex })).json().items;
      expect(theirs).toMatchObject([{ name: 'Theirs', status: 'active', revision: 0 }]);
    });

    it('reports a name taken since as a failure of that aggregate, and restores the others', async () => {
      now = new Date('2026-05-01T13:00:00Z');
      expect((await call('PATCH', `/v1/categories/${alpha}`, { body: { name: 'Alpha three' } })).statusCode).toBe(200);
      const squatter = (await created('/v1/categories', { name: 'Alpha' })).categoryId;
      expect((await call('PATCH', `/v1/categories/${beta}`, { body: { description: 'changed' } })).statusCode).toBe(200);
      now = new Date('2026-05-01T14:00:00Z');
      // Only alpha and beta: the squatter (created after the target) keeps its name.
      const run = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T12:30:00Z', ids: [alpha, beta] } });
      expect(run.statusCode, run.body).toBe(201);
      expect(run.json()).toMatchObject({
        status: 'partially_failed',
        result: { failures: [{ aggregateType: 'category', aggregateId: alpha, rule: 'category.name.unique' }] },
      });
      const { eventPosition } = run.json();
      expect((await call('GET', `/v1/categories/${beta}?minPosition=${eventPosition}`)).json()).toMatchObject({ description: '' });
      expect((await call('GET', `/v1/categories/${squatter}`)).json()).toMatchObject({ name: 'Alpha', status: 'active' });
    });

    it('refuses targets the log cannot answer and bad input, naming the field, writing nothing', async () => {
      const before = await logSize();
      for (const [body, status, field] of [
        [{ at: '2026-06-01T00:00:00Z' }, 400, 'body.at'],
        [{ at: '2026-04-01T00:00:00Z' }, 400, 'body.at'],
        [{ position: '1.1' }, 400, 'body.position'],
        [{ position: '99999999999.1' }, 400, 'body.position'],
        [{ at: '2026-05-01T10:30:00Z', position: '1.1' }, 400, 'body.at'],
        [{}, 400, 'body.at'],
        [{ at: 'noon' }, 400, 'body.at'],
        [{ at: '2026-05-01T10:30:00Z', types: ['backup'] }, 400, 'body.types'],
        [{ at: '2026-05-01T10:30:00Z', ids: ['x'] }, 400, 'body.ids'],
      ] as const) {
        const response = await call('POST', '/v1/tenant-restores', { body });
        expect(response.statusCode, JSON.stringify(body)).toBe(status);
        expect(JSON.stringify(response.json().errors), JSON.stringify(body)).toContain(field);
      }
      expect(await logSize()).toBe(before);
    });

    it('brings a template deleted since back, and deletes again one that was deleted then', async () => {
      now = new Date('2026-05-01T15:00:00Z');
      const kept = (await created('/v1/templates', { name: 'Kept', templateType: 'base' })).templateId;
      const gone = (await created('/v1/templates', { name: 'Gone', templateType: 'base' })).templateId;
      expect(
        (await service.http.inject({ method: 'DELETE', url: `/v1/templates/${gone}`, headers: { authorization: `Bearer ${acme}` } }))
          .statusCode,
      ).toBeLessThan(300);
      now = new Date('2026-05-01T16:00:00Z');
      expect(
        (await service.http.inject({ method: 'DELETE', url: `/v1/templates/${kept}`, headers: { authorization: `Bearer ${acme}` } }))
          .statusCode,
      ).toBeLessThan(300);
      expect((await call('POST', `/v1/templates/${gone}/undelete`)).statusCode).toBeLessThan(300);
      now = new Date('2026-05-01T17:00:00Z');
      const dry = (
        await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T15:30:00Z', ids: [kept, gone], dryRun: true } })
      ).json();
      expect(dry.changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ aggregateId: kept, action: 'restore', steps: ['undelete'] }),
          expect.objectContaining({ aggregateId: gone, action: 'delete', steps: ['delete'] }),
        ]),
      );
      const run = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T15:30:00Z', ids: [kept, gone] } });
      expect(run.json()).toMatchObject({ status: 'completed', result: { restored: 2, failures: [] } });
      const { eventPosition } = run.json();
      expect((await call('GET', `/v1/templates/${kept}?minPosition=${eventPosition}`)).statusCode).toBe(200);
      expect((await call('GET', `/v1/templates/${gone}?minPosition=${eventPosition}`)).statusCode).toBe(404);
    });

    it('refuses whole when an aggregate’s history was pruned', async () => {
      await service.eventStore.deleteStream(categoryStreamId('acme', gamma), { expectedRevision: 'any' });
      const before = await logSize();
      const refused = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z' } });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ rule: 'tenant_restore.log_pruned' });
      expect(refused.json().detail).toContain(categoryStreamId('acme', gamma));
      expect(await logSize()).toBe(before);
      // Narrowed to aggregates whose history is whole, it runs.
      const narrowed = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', ids: [templateId], dryRun: true } });
      expect(narrowed.statusCode).toBe(200);
    });
  });
}

e2e('tenant restores on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] tenant restores on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('tenant restores on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
