// SERVICE_ROLE splits the service across processes on one PostgreSQL: an `api` service takes the batch
// and projects it but runs no job; a `workers` service runs the jobs (chunks, items) and projects nothing. Both
// services run here against the same database (and Redis when available; the SQL queue otherwise).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { startService, type Service } from '../../../src/service.js';
import { createTestDatabase, postgresService, redisService } from '../../support/services.js';

const postgres = postgresService();
const redis = redisService();
if (postgres.skipReason) console.warn(`[skip] service roles: ${postgres.skipReason}`);

describe('SERVICE_ROLE', () => {
  it('defaults to all and refuses an unknown role', () => {
    expect(loadConfig({}).SERVICE_ROLE).toBe('all');
    expect(() => loadConfig({ SERVICE_ROLE: 'everything' })).toThrow(ConfigError);
  });

  it.skipIf(!postgres.url)('api takes and projects a batch without running it; workers run it', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-roles-'));
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      DATABASE_URL: await createTestDatabase(postgres.url!),
      ...(redis.url ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `roles${randomUUID().slice(0, 8)}` } : {}),
    };
    const start = (role: string) =>
      startService(loadConfig({ ...env, SERVICE_ROLE: role }), pino({ level: 'silent' }), { defaultMetrics: false });
    const api = await start('api');
    let workers: Service | undefined;
    try {
      const { apiKey } = await api.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] });
      const headers = { authorization: `Bearer ${apiKey}` };
      const items = Array.from({ length: 20 }, (_, i) => ({ templateId: randomUUID(), name: `Role ${i}`, templateType: 'base' }));
      const posted = await api.http.inject({
        method: 'POST',
        url: '/v1/batches',
        headers,
        payload: { operation: 'create', items, options: { chunkSize: 5 } },
      });
      expect(posted.statusCode).toBe(202);
      const { batchId } = posted.json() as { batchId: string };
      const view = async () =>
        (await api.http.inject({ method: 'GET', url: `/v1/batches/${batchId}`, headers })).json() as {
          status?: string;
          progress?: { pending: number; queued: number; succeeded: number };
        };
      // The api service projects the batch, but nothing moves it on while no worker runs (the control
      // worker queues the chunks, the item worker runs them).
      const deadline = Date.now() + 30_000;
      while ((await view()).status === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await view()).toMatchObject({ status: 'running', progress: { pending: 20, queued: 0, succeeded: 0 } });

      workers = await start('workers');
      expect((await workers.projections.status()).filter((projection) => projection.state === 'running')).toEqual([]);
      expect(workers.processes.states().filter((process) => process.state === 'running')).toEqual([]);
      const finishBy = Date.now() + 60_000;
      while ((await view()).status === 'running' && Date.now() < finishBy) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await view()).toMatchObject({ status: 'completed', progress: { succeeded: 20 } });
    } finally {
      await workers?.close();
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
