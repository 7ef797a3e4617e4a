// Batch figures: create batches through the real service over HTTP on PostgreSQL and BullMQ (local
// Redis), each run on a fresh database:
// - `inProcess`: N items with the job workers in the API's process: wall time from POST to completed,
//   items/s, the process's peak memory (resident set, sampled every 50 ms) and its CPU time;
// - `workerProcesses`: the same batch with the API process running no job workers (SERVICE_ROLE=api) and
//   1, then 2, separate worker processes (`src/main.ts` with SERVICE_ROLE=workers) on the same PG and Redis;
// - `large`: a batch of `largeItems` in one process, its resident set sampled every 250 ms: flat memory
//   is a last quarter of the run no larger than its first quarter (plus noise), as for the rebuild.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service.js';

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const avg = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
const mainEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const FINISHED = ['completed', 'partially_completed', 'failed', 'cancelled'];

/** A fresh database on the server of `serverUrl`, so runs do not weigh on each other. */
async function freshDatabase(serverUrl: string): Promise<string> {
  const name = `bench_batches_${randomUUID().slice(0, 8)}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Resident set and CPU time (user + system, ms) of another process, from /proc. */
function procStats(pid: number): { rss: number; cpuMs: number } {
  try {
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rss: rssKb * 1024, cpuMs: (Number(fields[11]) + Number(fields[12])) * 10 };
  } catch {
    return { rss: 0, cpuMs: 0 };
  }
}

function environment(databaseUrl: string, redisUrl: string, prefix: string, dataDir: string, maxItems: number): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    BATCH_MAX_ITEMS: String(Math.max(maxItems, 1)),
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    TEMPLATE_MAX_PER_TENANT: String(10_000_000),
  };
}

/** A worker-only service in its own process; resolves once its workers take jobs. */
async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainEntry], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info', SERVICE_ROLE: 'workers', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process did not start: ${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('job workers running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker process exited (${code}): ${output}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

async function stopWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** One create batch of `items` through HTTP, from POST to a finished status. */
async function runBatch(
  serverUrl: string,
  redisUrl: string,
  options: { items: number; workerProcesses: number; chunkSize: number; concurrency: number; sampleMs: number },
) {
  const databaseUrl = await freshDatabase(serverUrl);
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-bench-batches-'));
  const env = environment(databaseUrl, redisUrl, `bench${randomUUID().slice(0, 8)}`, dataDir, options.items);
  const config = loadConfig({ ...env, SERVICE_ROLE: options.workerProcesses > 0 ? 'api' : 'all' });
  const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
  const children: ChildProcess[] = [];
  const samples: { rss: number; heap: number; workersRss: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    for (let i = 0; i < options.workerProcesses; i++) children.push(await startWorkerProcess(env));
    const tenantId = `bench${randomUUID().slice(0, 8)}`;
    const { apiKey } = await service.apiKeys.create({ tenantId, userId: 'bench', name: 'bench', permissions: ['templates:write'] });
    const headers = { authorization: `Bearer ${apiKey}` };
    const items = Array.from({ length: options.items }, (_, i) => ({ templateId: randomUUID(), name: `Bench ${i}`, templateType: 'base' }));
    global.gc?.();
    const { rss: rssBefore, heapUsed: heapBefore } = process.memoryUsage();
    const sample = () =>
      samples.push({
        rss: process.memoryUsage().rss,
        heap: process.memoryUsage().heapUsed,
        workersRss: children.reduce((sum, child) => sum + procStats(child.pid!).rss, 0),
      });
    sampler = setInterval(sample, options.sampleMs);
    const cpuBefore = process.cpuUsage();
    const childCpuBefore = children.map((child) => procStats(child.pid!).cpuMs);
    const loadBefore = loadavg()[0]!;
    const started = Date.now();
    const response = await service.http.inject({
      method: 'POST',
      url: '/v1/batches',
      headers,
      payload: { operation: 'create', items, options: { chunkSize: options.chunkSize, concurrency: options.concurrency } },
    });
    if (response.statusCode !== 202) throw new Error(`POST /v1/batches answered ${response.statusCode}: ${response.body}`);
    const acceptedMs = Date.now() - started;
    const { batchId } = response.json() as { batchId: string };
    let batch: { status: string; progress: { succeeded: number; failed: number } } | undefined;
    for (;;) {
      const got = await service.http.inject({ method: 'GET', url: `/v1/batches/${batchId}`, headers });
      if (got.statusCode === 200) batch = got.json();
      if (batch && FINISHED.includes(batch.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const wallMs = Date.now() - started;
    sample();
    const cpu = process.cpuUsage(cpuBefore);
    const workerCpuMs = children.reduce((sum, child, i) => sum + procStats(child.pid!).cpuMs - childCpuBefore[i]!, 0);
    const quarter = Math.max(1, Math.floor(samples.length / 4));
    global.gc?.();
    const heapAfterGc = process.memoryUsage().heapUsed;
    const peak = (key: 'rss' | 'workersRss') => mb(Math.max(...samples.map((s) => s[key])));
    return {
      items: options.items,
      workerProcesses: options.workerProcesses,
      status: batch.status,
      succeeded: batch.progress.succeeded,
      failed: batch.progress.failed,
      acceptedMs,
      wallSeconds: wallMs / 1000,
      itemsPerSecond: Math.round((options.items / wallMs) * 1000),
      // CPU spent by this (API) process and by the worker processes during the run: what the batch cost,
      // whatever else the machine was doing (the load average is reported beside it).
      apiProcessCpuSeconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
      ...(children.length > 0 ? { workerProcessesCpuSeconds: workerCpuMs / 1000 } : {}),
      loadAverage1m: Math.round(((loadBefore + loadavg()[0]!) / 2) * 10) / 10,
      rssBeforeMb: mb(rssBefore),
      peakRssMb: Math.max(mb(rssBefore), peak('rss')),
      ...(children.length > 0 ? { workerProcessesPeakRssMb: peak('workersRss') } : {}),
      rssFirstQuarterMb: mb(avg(samples.slice(0, quarter).map((s) => s.rss))),
      rssLastQuarterMb: mb(avg(samples.slice(-quarter).map((s) => s.rss))),
      heapFirstQuarterMb: mb(avg(samples.slice(0, quarter).map((s) => s.heap))),
      heapLastQuarterMb: mb(avg(samples.slice(-quarter).map((s) => s.heap))),
      // What the finished batch leaves on the heap after a full collection (the workers keep the folded
      // state of the last batches they ran: see batch-stream-cache.ts).
      heapBeforeMb: mb(heapBefore),
      heapAfterGcMb: mb(heapAfterGc),
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map(stopWorkerProcess));
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchBatches(
  serverUrl: string,
  options: { items: number; largeItems: number; redisUrl: string; chunkSize?: number; concurrency?: number; log?: (m: string) => void },
) {
  const log = options.log ?? (() => undefined);
  const shape = { chunkSize: options.chunkSize ?? 500, concurrency: options.concurrency ?? 32 };
  // BENCH_BATCH_ITEMS=0 measures only the large batch.
  let inProcess;
  const workerProcesses = [];
  if (options.items > 0) {
    log(`batches: ${options.items} items, workers in the API process`);
    inProcess = await runBatch(serverUrl, options.redisUrl, { ...shape, items: options.items, workerProcesses: 0, sampleMs: 50 });
    for (const count of [1, 2]) {
      log(`batches: ${options.items} items, ${count} worker process(es)`);
      workerProcesses.push(
        await runBatch(serverUrl, options.redisUrl, { ...shape, items: options.items, workerProcesses: count, sampleMs: 50 }),
      );
    }
  }
  const large =
    options.largeItems > 0
      ? (log(`batches: ${options.largeItems} items, memory sampled`),
        await runBatch(serverUrl, options.redisUrl, { ...shape, items: options.largeItems, workerProcesses: 0, sampleMs: 250 }))
      : undefined;
  return { options: shape, ...(inProcess ? { inProcess, workerProcesses } : {}), ...(large ? { large } : {}) };
}
