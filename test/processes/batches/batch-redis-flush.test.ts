// Redis losing its data mid-batch, with the real service and a real redis-server without persistence:
// killed (SIGKILL) and restarted empty on the same port, or emptied by FLUSHALL while it runs. The queued
// BullMQ jobs are gone; the re-enqueue sweep (batch-requeue.ts) puts back what the batch streams say is due,
// and the batch completes with every item applied exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startService, type Service } from '../../../src/service.js';
import { freePort } from '../../support/local-services.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
const postgres = postgresService();
if (!binary) console.warn('[skip] batch with Redis data loss: no redis-server binary');

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

/** A Redis that keeps nothing on disk: a restart starts empty. */
async function volatileRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  await listening(port, 5000);
  return child;
}

type Loss = (ctx: {
  port: number;
  restartRedis: () => Promise<void>;
  restartService: (between: () => Promise<void>) => Promise<void>;
}) => Promise<void>;

/** Starts the service on a volatile Redis, runs three 100-item create batches, lets `loseData` strike once
 * 40 items are applied, and checks that every batch completes with every item applied exactly once. */
async function batchSurvives(loseData: Loss, options: { scheduled?: boolean; whileJobsWait?: boolean } = {}): Promise<void> {
  const port = await freePort();
  const redisDir = mkdtempSync(join(tmpdir(), 'kyo-redis-volatile-'));
  let redis = await volatileRedis(port, redisDir);
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-batch-redis-flush-'));
  let service: Service | undefined;
  try {
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      DATABASE_URL: await createTestDatabase(postgres.url!),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      BATCH_REQUEUE_INTERVAL_MS: '300',
    });
    service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
    expect(service.mode.queue).toBe('bullmq');
    const { apiKey } = await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] });
    const headers = { authorization: `Bearer ${apiKey}` };
    // Three batches at once: with four item-worker slots and two chunks of each batch in flight, chunk jobs
    // are usually waiting in Redis, not only running, when the loss strikes (a running chunk finishes and
    // records its outcomes whatever Redis does; a waiting one is gone for good without the sweep).
    const batches: { batchId: string; items: { templateId: string }[] }[] = [];
    for (let b = 0; b < 3; b++) {
      const items = Array.from({ length: 100 }, (_, i) => ({
        templateId: randomUUID(),
        name: `Volatile ${b}.${i} ${randomUUID()}`,
        templateType: 'base',
      }));
      const started = await service.http.inject({
        method: 'POST',
        url: '/v1/batches',
        headers,
        payload: {
          operation: 'create',
          items,
          options: {
            chunkSize: 10,
            concurrency: 2,
            ...(options.scheduled ? { scheduledAt: new Date(Date.now() + 8000).toISOString() } : {}),
          },
        },
      });
      expect(started.statusCode, started.body).toBe(202);
      batches.push({ batchId: started.json().batchId, items });
    }
    const created = async () =>
      Number(
        (await service!.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events WHERE event_type = 'TemplateCreated'`))[0]!.n,
      );
    const deadline = Date.now() + 60_000;
    if (options.scheduled) {
      // The loss strikes once the three delayed 'begin' jobs are in Redis, before they are due.
      const soon = Date.now() + 6000; // before the batches are due
      while ((await service.queue.counts('batch-control')).delayed < 3 && Date.now() < soon)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await service.queue.counts('batch-control')).delayed).toBe(3);
    } else {
      while ((await created()) < 40 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // Chunk jobs waiting in Redis (not yet taken by a worker) are the ones a loss really takes away.
      while (options.whileJobsWait && (await service.queue.counts('batch-items')).waiting < 1 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 2));
    }

    await loseData({
      port,
      restartRedis: async () => {
        redis.kill('SIGKILL');
        await new Promise((resolve) => redis.once('exit', resolve));
        await new Promise((resolve) => setTimeout(resolve, 500));
        redis = await volatileRedis(port, redisDir);
      },
      restartService: async (between) => {
        await service!.close();
        service = undefined;
        await between();
        service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      },
    });
    expect(await created()).toBeLessThan(300); // the loss struck before the batches ended

    const current = service;
    const until = Date.now() + 90_000;
    const statuses = async () =>
      Promise.all(
        batches.map(async ({ batchId }) => {
          const got = await current.http.inject({ method: 'GET', url: `/v1/batches/${batchId}`, headers });
          return got.statusCode === 200 ? (got.json().status as string) : '';
        }),
      );
    let status = await statuses();
    while (Date.now() < until && status.some((s) => s !== 'completed')) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await statuses();
    }
    expect(status).toEqual(['completed', 'completed', 'completed']);
    for (const { batchId, items } of batches) {
      for (const [index, item] of items.entries()) {
        const events = await current.eventStore.readStream(`template-${item.templateId}`);
        expect(events.map((e) => `${e.type}@${String(e.metadata.commandId)}`)).toEqual([`TemplateCreated@${batchId}:${index}`]);
      }
    }
  } finally {
    await service?.close();
    redis.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(redisDir, { recursive: true, force: true });
  }
}

describe.skipIf(!binary || !postgres.url)('batch with Redis losing its data mid-batch (BullMQ without persistence, PostgreSQL)', () => {
  it('Redis restarted empty before scheduled batches begin: the sweep puts their delayed jobs back', { timeout: 180_000 }, async () => {
    // Deterministic loss: the delayed 'begin' jobs exist only in Redis, and the process manager handled
    // their events already; without the sweep these batches would stay scheduled forever.
    await batchSurvives(({ restartRedis }) => restartRedis(), { scheduled: true });
  });

  it('Redis restarted empty while the service was down, mid-batch: every item applied exactly once', { timeout: 180_000 }, async () => {
    await batchSurvives(({ restartRedis, restartService }) => restartService(restartRedis));
  });

  it('Redis killed and restarted empty under running workers: every item applied exactly once', { timeout: 180_000 }, async () => {
    await batchSurvives(({ restartRedis }) => restartRedis());
  });

  it(
    'FLUSHALL while chunk jobs wait for a worker: the sweep re-enqueues them, every item applied exactly once',
    { timeout: 180_000 },
    async () => {
      await batchSurvives(
        async ({ port }) => {
          const client = new Redis(port, '127.0.0.1');
          try {
            await client.flushall();
          } finally {
            client.disconnect();
          }
        },
        { whileJobsWait: true },
      );
    },
  );
});
