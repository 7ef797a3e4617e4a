// One tenant's storm, another tenant's latency (#15 item 4), on the embedded default (PGlite, SQL job queue):
// tenant `storm` sends a burst of restores (each into a new data directory), restore drills, backups and
// batches at once; meanwhile tenant `quiet` reads its categories and /health over real HTTP, one request
// after another. Figures: the quiet tenant's GET and /health latency (p50, p99, max) idle and during the
// storm, the event loop's delay during it, and how much of the storm's work was done in the window.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { BACKUP_QUEUE } from '../src/processes/backups/backup-process.js';
import { BATCH_CONTROL_QUEUE, BATCH_ITEMS_QUEUE } from '../src/processes/batches/batch-process.js';
import { DRILL_QUEUE } from '../src/processes/restores/drill-process.js';
import { RESTORE_QUEUE } from '../src/processes/restores/restore-process.js';
import { startService } from '../src/service.js';

const QUEUES = [RESTORE_QUEUE, DRILL_QUEUE, BACKUP_QUEUE, BATCH_CONTROL_QUEUE, BATCH_ITEMS_QUEUE];

export interface StormOptions {
  /** Requests in the storm (restores, drills, backups and batches in turn). */
  readonly requests: number;
  /** The quiet tenant reads for at most this long after the storm is sent (or until its jobs are done). */
  readonly seconds: number;
  /** Which kinds of request the storm sends, in turn (default all four). */
  readonly kinds?: readonly StormKind[];
  readonly log: (message: string) => void;
}

export const STORM_KINDS = ['restore', 'drill', 'backup', 'batch'] as const;
export type StormKind = (typeof STORM_KINDS)[number];

const round = (ms: number) => Math.round(ms * 10) / 10;

function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { requests: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(sorted.at(-1) ?? 0) };
}

export async function benchStorm(options: StormOptions) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-bench-storm-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: String(10_000_000),
    TEMPLATE_OPS_PER_MINUTE: String(10_000_000),
    BATCH_MAX_PER_MINUTE: String(1_000_000),
  });
  const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
  try {
    const base = await service.http.listen({ port: 0, host: '127.0.0.1' });
    const key = async (tenantId: string) =>
      (await service.apiKeys.create({ tenantId, userId: `${tenantId}-admin`, name: 'bench', permissions: ['admin'] })).apiKey;
    const [storm, quiet] = [await key('storm'), await key('quiet')];
    const request = async (apiKey: string | undefined, method: 'GET' | 'POST', path: string, body?: object) => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, ms: performance.now() - started, json: () => JSON.parse(text) };
    };
    const until = async (probe: () => Promise<boolean>, what: string, timeoutMs = 600_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`storm bench: timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    options.log('storm: seeding both tenants and 4 backups of the storm tenant');
    for (let i = 0; i < 40; i++) await request(storm, 'POST', '/v1/categories', { name: `Storm ${i}` });
    for (let i = 0; i < 20; i++) await request(quiet, 'POST', '/v1/categories', { name: `Quiet ${i}` });
    const backups: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { backupId } = (await request(storm, 'POST', '/v1/backups', { name: `seed ${i}`, type: 'database' })).json();
      await until(async () => {
        const got = await request(storm, 'GET', `/v1/backups/${backupId}`);
        return got.status === 200 && got.json().status === 'completed';
      }, `backup ${backupId}`);
      backups.push(backupId);
    }

    // The quiet tenant: one GET of its categories, then /health, and again, until told to stop.
    const readLoop = async (stop: () => boolean) => {
      const gets: number[] = [];
      const health: number[] = [];
      while (!stop()) {
        gets.push((await request(quiet, 'GET', '/v1/categories?pageSize=20')).ms);
        health.push((await request(undefined, 'GET', '/health')).ms);
      }
      return { get: summary(gets), health: summary(health) };
    };
    options.log('storm: the quiet tenant idle');
    const idleUntil = Date.now() + 5000;
    const idle = await readLoop(() => Date.now() > idleUntil);

    const pending = async () => {
      let total = 0;
      for (const queue of QUEUES) {
        const counts = await service.queue.counts(queue);
        total += counts.waiting + counts.active + counts.delayed;
      }
      return total;
    };
    const kinds = options.kinds ?? STORM_KINDS;
    const send = (i: number) => {
      const backupId = backups[i % backups.length]!;
      switch (kinds[i % kinds.length]!) {
        case 'restore':
          return request(storm, 'POST', `/v1/backups/${backupId}/restore`, { target: { dataDirectory: `storm-${i}` } });
        case 'drill':
          return request(storm, 'POST', `/v1/backups/${backupId}/drill`);
        case 'backup':
          return request(storm, 'POST', '/v1/backups', { name: `storm ${i}`, type: 'database' });
        case 'batch':
          return request(storm, 'POST', '/v1/batches', {
            operation: 'create',
            items: Array.from({ length: 20 }, (_, j) => ({ templateId: randomUUID(), name: `Storm ${i}.${j}`, templateType: 'base' })),
          });
      }
    };

    options.log(`storm: ${options.requests} requests from one tenant, the other reading for up to ${options.seconds} s`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = Date.now();
    const stopAt = started + options.seconds * 1000;
    let drained = false;
    let left = 0;
    // The quiet tenant reads from the first storm request on, while the others are still being answered.
    const reading = readLoop(() => drained || Date.now() > stopAt);
    const answers = await Promise.all(Array.from({ length: options.requests }, (_, i) => send(i)));
    const statuses: Record<string, number> = {};
    for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
    while (!drained && Date.now() <= stopAt) {
      left = await pending();
      drained = left === 0;
      if (!drained) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const during = await reading;
    delay.disable();
    return {
      store: 'pglite',
      storm: {
        requests: options.requests,
        kinds,
        answers: statuses,
        sendMs: round(answers.reduce((max, a) => Math.max(max, a.ms), 0)),
        windowSeconds: round((Date.now() - started) / 1000),
        drained,
        jobsLeft: left,
      },
      idle,
      during: { ...during, eventLoopDelay: { p99Ms: round(delay.percentile(99) / 1e6), maxMs: round(delay.max / 1e6) } },
    };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
