// Process managers through the whole embedded service: an HTTP command's event leads to one job; a job
// enqueued while no worker runs survives a restart and runs once after it; nothing runs twice.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Job } from '../../src/ports/job-queue.js';
import type { ProcessManager } from '../../src/processes/process-manager.js';
import type { JobWorker } from '../../src/processes/job-worker.js';
import { startService, type Service } from '../../src/service.js';

const welcome: ProcessManager = {
  name: 'welcome',
  filter: { categories: ['category'], eventTypes: ['CategoryCreated'] },
  async handle(event, context) {
    await context.enqueue('welcome', { categoryId: String(event.data.categoryId), name: String(event.data.name) });
  },
};

const dataDir = mkdtempSync(join(tmpdir(), 'kyo-processes-'));
const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
const start = (workers: JobWorker[]) =>
  startService(config, pino({ level: 'silent' }), { defaultMetrics: false, processes: [welcome], workers });

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('process managers in the service (embedded)', () => {
  let service: Service | undefined;
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps pending jobs across a restart and runs each exactly once', async () => {
    // First run: no worker, so the job is only recorded.
    service = await start([]);
    const key = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    const created = await service.http.inject({
      method: 'POST',
      url: '/v1/categories',
      headers: { authorization: `Bearer ${key}` },
      payload: { name: 'Chemistry' },
    });
    expect(created.statusCode).toBe(201);
    const queue = service.queue;
    await until(async () => (await queue.counts('welcome')).waiting === 1, 'the job to be recorded');
    expect(service.mode.queue).toBe('sql');
    await service.close();

    // Second run with a worker: the recorded job runs once; the replayed event does not enqueue it again.
    const ran: Job[] = [];
    service = await start([{ queue: 'welcome', handler: async (job) => void ran.push(job) }]);
    await until(() => ran.length === 1, 'the job to run');
    const second = await service.http.inject({
      method: 'POST',
      url: '/v1/categories',
      headers: { authorization: `Bearer ${key}` },
      payload: { name: 'Physics' },
    });
    expect(second.statusCode).toBe(201);
    await until(() => ran.length === 2, 'the second job to run');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran.map((job) => job.payload.name)).toEqual(['Chemistry', 'Physics']);
    expect(ran.every((job) => job.attempt === 1)).toBe(true);
    const counts = await service.queue.counts('welcome');
    expect(counts).toMatchObject({ completed: 2, waiting: 0, active: 0, failed: 0 });

    const ready = await service.http.inject({ method: 'GET', url: '/ready' });
    expect(ready.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'process-managers', ok: true })]));
  });
});
