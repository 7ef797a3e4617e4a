// Tenant point-in-time restore figures: N aggregates of one tenant (half categories, half templates), each
// changed after the target; then the dry run and the restore itself through the real service (HTTP: the
// POST queues it, a job runs it; the time is from the POST until GET shows it finished), on PostgreSQL or
// the embedded PGlite: wall time, aggregates/s and events appended.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { formatPosition } from '../src/ports/event-store.js';
import { startService } from '../src/service.js';

export async function benchTenantRestore(options: { aggregates: number; databaseUrl?: string }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-bench-tenant-restore-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    RATE_LIMIT_PER_MINUTE: String(10_000_000),
    TEMPLATE_OPS_PER_MINUTE: String(10_000_000),
    TEMPLATE_MAX_PER_TENANT: String(10_000_000),
    // The bench's dry run plans every aggregate: its bound (default 1000) must not refuse it.
    TENANT_RESTORE_DRY_RUN_MAX: String(Math.max(1000, options.aggregates)),
  });
  const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
  try {
    const { apiKey } = await service.apiKeys.create({ tenantId: 'bench', userId: 'bench', name: 'bench', permissions: ['admin'] });
    const headers = { authorization: `Bearer ${apiKey}` };
    const post = async (url: string, payload: object, method: 'POST' | 'PATCH' = 'POST') => {
      const response = await service.http.inject({ method, url, headers, payload });
      if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
      return response.json();
    };
    const half = Math.floor(options.aggregates / 2);
    const created: { url: string; change: object }[] = [];
    for (let i = 0; i < half; i++) {
      const { categoryId } = await post('/v1/categories', { name: `Category ${i}` });
      created.push({ url: `/v1/categories/${categoryId}`, change: { name: `Category ${i} renamed` } });
    }
    for (let i = half; i < options.aggregates; i++) {
      const { templateId } = await post('/v1/templates', { name: `Template ${i}`, templateType: 'base', description: 'before' });
      created.push({ url: `/v1/templates/${templateId}`, change: { description: 'after' } });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const at = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const { url, change } of created) await post(url, change, 'PATCH');
    const before = await service.eventStore.headPosition();

    let started = performance.now();
    const dry = await post('/v1/tenant-restores', { at, dryRun: true });
    const dryRunMs = Math.round(performance.now() - started);
    started = performance.now();
    const { restoreId } = await post('/v1/tenant-restores', { at });
    let run;
    const deadline = Date.now() + 600_000;
    do {
      if (Date.now() > deadline) throw new Error(`restore ${restoreId} did not finish in 10 minutes: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const response = await service.http.inject({ method: 'GET', url: `/v1/tenant-restores/${restoreId}`, headers });
      run = response.json();
    } while (run.status === 'queued' || run.status === 'running');
    const runMs = Math.round(performance.now() - started);
    if (run.status !== 'completed' || run.result.restored !== options.aggregates)
      throw new Error(`restore incomplete: ${JSON.stringify(run.result)}`);
    // Readers stop below transactions still open (the worker's may be), so count once the record's last event reads back.
    const appendedThrough = async (last: string) => {
      for (;;) {
        const events = (await service.eventStore.readAll({ after: before, maxCount: 1_000_000 })).events;
        if (events.some((event) => formatPosition(event.position) === last)) return events.length;
        if (Date.now() > deadline) throw new Error(`the restore's last event ${last} never read back`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return {
      aggregates: options.aggregates,
      changesListed: dry.changes.length,
      dryRunMs,
      runMs,
      aggregatesPerSecond: Math.round((options.aggregates / runMs) * 1000),
      eventsAppended: await appendedThrough(run.eventPosition),
    };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
