// Batch figures: one create batch of N items through the real service over HTTP (PostgreSQL, and BullMQ
// when a Redis URL is given): wall time from POST to completed, items/s, and the process's peak memory
// (resident set, sampled every 50 ms), with the workers in the same process as the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

export async function benchBatch(
  databaseUrl: string,
  options: {
    items: number;
    redisUrl?: string;
    chunkSize?: number;
    concurrency?: number;
  },
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-bench-batches-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    BATCH_MAX_ITEMS: String(Math.max(options.items, 1)),
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    TEMPLATE_MAX_PER_TENANT: String(10_000_000),
  });
  const service = await startService(config, pino({ level: 'silent' }), {
    defaultMetrics: false,
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    const tenantId = `bench${randomUUID().slice(0, 8)}`;
    const { apiKey } = await service.apiKeys.create({
      tenantId,
      userId: 'bench',
      name: 'bench',
      permissions: ['templates:write'],
    });
    const headers = { authorization: `Bearer ${apiKey}` };
    const items = Array.from({ length: options.items }, (_, i) => ({
      templateId: randomUUID(),
      name: `Bench ${i}`,
      templateType: 'base',
    }));
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const response = await service.http.inject({
      method: 'POST',
      url: '/v1/batches',
      headers,
      payload: {
        operation: 'create',
        items,
        options: {
          chunkSize: options.chunkSize ?? 500,
          concurrency: options.concurrency ?? 16,
        },
      },
    });
    if (response.statusCode !== 202) throw new Error(`POST /v1/batches answered ${response.statusCode}: ${response.body}`);
    const acceptedMs = Date.now() - started;
    const { batchId } = response.json() as { batchId: string };
    let batch: { status: string; progress: { succeeded: number; failed: number } } | undefined;
    for (;;) {
      const got = await service.http.inject({
        method: 'GET',
        url: `/v1/batches/${batchId}`,
        headers,
      });
      if (got.statusCode === 200) batch = got.json();
      if (batch && ['completed', 'partially_completed', 'failed', 'cancelled'].includes(batch.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wallMs = Date.now() - started;
    return {
      items: options.items,
      queue: service.mode.queue,
      status: batch.status,
      succeeded: batch.progress.succeeded,
      failed: batch.progress.failed,
      acceptedMs,
      wallSeconds: wallMs / 1000,
      itemsPerSecond: Math.round((options.items / wallMs) * 1000),
      rssBeforeMb: mb(rssBefore),
      peakRssMb: mb(peakRss),
    };
  } finally {
    clearInterval(sampler);
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
