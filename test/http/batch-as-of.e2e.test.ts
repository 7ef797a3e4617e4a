// GET /v1/batches/{id}?asOf=… through the real service on PGlite (and PostgreSQL when available), with an
// injected clock so the batch's events fall at known moments: before the batch it is 404, at the moment it
// ran it is the completed batch the read model shows, and a later undo is not in the earlier state.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let keyB: string;
    let now = new Date('2026-03-01T10:00:00Z');

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-batch-asof-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false, clock: () => now });
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST', url: string, key = keyA, body?: object) =>
      service.http.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });

    async function batchUntil(batchId: string, statuses: string[]) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const got = await call('GET', `/v1/batches/${batchId}`);
        if (got.statusCode === 200 && statuses.includes(got.json().status)) return got.json();
        if (Date.now() > deadline) throw new Error(`batch ${batchId} did not reach ${statuses.join('/')}: ${got.body}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    it('folds the batch up to the moment asked for', async () => {
      const items = Array.from({ length: 5 }, (_, i) => ({
        templateId: randomUUID(),
        name: `AsOf ${randomUUID()} ${i}`,
        templateType: 'base',
      }));
      const started = await call('POST', '/v1/batches', keyA, { operation: 'create', items });
      expect(started.statusCode, started.body).toBe(202);
      const { batchId } = started.json();
      const live = await batchUntil(batchId, ['completed']);

      const before = await call('GET', `/v1/batches/${batchId}?asOf=2026-03-01T09:59:59Z`);
      expect(before.statusCode).toBe(404);
      expect(before.json().detail).toMatch(/at that moment/);
      const then = await call('GET', `/v1/batches/${batchId}?asOf=2026-03-01T10:00:00Z`);
      expect(then.statusCode).toBe(200);
      expect(then.json()).toEqual(live);

      now = new Date('2026-03-01T12:00:00Z');
      const undo = await call('POST', `/v1/batches/${batchId}/undo`);
      expect(undo.statusCode, undo.body).toBe(202);
      const undone = await batchUntil(batchId, ['completed']).then(async () => {
        for (let i = 0; i < 200; i++) {
          const got = (await call('GET', `/v1/batches/${batchId}`)).json();
          if (got.undoneBy) return got;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error('undo not projected');
      });
      expect(undone.undoneBy).toEqual(expect.any(String));
      expect((await call('GET', `/v1/batches/${batchId}?asOf=2026-03-01T11:00:00Z`)).json()).toMatchObject({
        undoneBy: null,
        status: 'completed',
      });
      expect((await call('GET', `/v1/batches/${batchId}?asOf=2026-03-01`)).statusCode).toBe(404);
      expect((await call('GET', `/v1/batches/${batchId}?asOf=2026-03-02`)).json()).toMatchObject({ undoneBy: undone.undoneBy });

      // Another tenant's batch is missing at every moment; a bad instant names the field.
      expect((await call('GET', `/v1/batches/${batchId}?asOf=2026-03-02`, keyB)).statusCode).toBe(404);
      const bad = await call('GET', `/v1/batches/${batchId}?asOf=noon`);
      expect(bad.statusCode).toBe(400);
      expect(JSON.stringify(bad.json().errors)).toContain('query.asOf');
    });
  });
}

e2e('batch asOf on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] batch asOf on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('batch asOf on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
