// Redis (BullMQ) killed and restarted mid-batch, with the real service: once Redis is back (its append-only
// file keeps the queued jobs, as a production Redis for queues must), the batch completes with every item
// applied exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startService } from '../../../src/service.js';
import { freePort } from '../../support/local-services.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
const postgres = postgresService();
if (!binary) console.warn('[skip] batch with a Redis restart: no redis-server binary');

async function listening(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis did not listen on ${port}`);
}

describe.skipIf(!binary || !postgres.url)('batch with Redis restarted mid-batch (BullMQ, PostgreSQL)', () => {
  it('ends with every item applied exactly once', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const redisDir = mkdtempSync(join(tmpdir(), 'kyo-redis-aof-'));
    const startRedis = async () => {
      const child = spawn(
        binary!,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir],
        { stdio: 'ignore' },
      );
      await listening(port, 5000);
      return child;
    };
    let redis: ChildProcess = await startRedis();
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-batch-redis-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      DATABASE_URL: await createTestDatabase(postgres.url!),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
    try {
      expect(service.mode.queue).toBe('bullmq');
      const { apiKey } = await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] });
      const headers = { authorization: `Bearer ${apiKey}` };
      const items = Array.from({ length: 300 }, (_, i) => ({
        templateId: randomUUID(),
        name: `Redis ${i} ${randomUUID()}`,
        templateType: 'base',
      }));
      const started = await service.http.inject({
        method: 'POST',
        url: '/v1/batches',
        headers,
        payload: { operation: 'create', items, options: { chunkSize: 10, concurrency: 2 } },
      });
      expect(started.statusCode, started.body).toBe(202);
      const { batchId } = started.json();
      const created = async () =>
        Number(
          (await service.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events WHERE event_type = 'TemplateCreated'`))[0]!.n,
        );
      const deadline = Date.now() + 60_000;
      while ((await created()) < 40 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      redis.kill('SIGKILL');
      await new Promise((resolve) => redis.once('exit', resolve));
      const atKill = await created();
      expect(atKill).toBeGreaterThanOrEqual(40);
      expect(atKill).toBeLessThan(300);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      redis = await startRedis();

      const until = Date.now() + 120_000;
      let status = '';
      while (Date.now() < until) {
        const got = await service.http.inject({ method: 'GET', url: `/v1/batches/${batchId}`, headers });
        status = got.statusCode === 200 ? got.json().status : '';
        if (status === 'completed') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe('completed');
      for (const [index, item] of items.entries()) {
        const events = await service.eventStore.readStream(`template-${item.templateId}`);
        expect(events.map((e) => `${e.type}@${String(e.metadata.commandId)}`)).toEqual([`TemplateCreated@${batchId}:${index}`]);
      }
    } finally {
      await service.close();
      redis.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(redisDir, { recursive: true, force: true });
    }
  });
});
