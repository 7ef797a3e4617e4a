// Template figures: seed N templates over T tenants, time the search projection's rebuild from zero,
// the uncached search latency (3 filters + keyword + sort, straight on the read model), then run the
// real service over HTTP and load it with autocannon in a separate process: cached search requests/s and
// create-template commands/s with their latency.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createPostgresEventStore, migrateEventStore } from '../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../src/adapters/sql/pg-database.js';
import { loadConfig } from '../src/config.js';
import { createProjectionEngine } from '../src/projections/projection-engine.js';
import { searchTemplates, SEARCH_SORTS } from '../src/projections/templates/template-queries.js';
import { templateProjector } from '../src/projections/templates/template-projector.js';
import { startService } from '../src/service.js';
import { BENCH_LEVELS, BENCH_TYPES, BENCH_WORDS, seedTemplates } from './template-seed.js';

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p97_5: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

function autocannon(args: string[]): Promise<AutocannonResult> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-j', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as AutocannonResult) : reject(new Error(`autocannon exited ${code}: ${err}`)),
    );
  });
}

export async function benchTemplates(
  url: string,
  options: { templates: number; tenants: number; redisUrl?: string; seconds?: number },
): Promise<Record<string, unknown>> {
  const seconds = options.seconds ?? 10;
  const db = createPgDatabase({ connectionString: url, maxConnections: 16 });
  await migrateEventStore(db);
  const store = createPostgresEventStore(db);

  let started = performance.now();
  await seedTemplates(db, options.templates, options.tenants);
  const seedSeconds = (performance.now() - started) / 1000;
  const [{ events }] = (await db.query<{ events: string }>(
    `SELECT count(*)::text AS events FROM es_events WHERE stream_id LIKE 'template-%'`,
  )) as [{ events: string }];

  // Rebuild of the search projection from zero (the live runner stays stopped).
  const engine = createProjectionEngine({ db, eventStore: store, projectors: [templateProjector()], batchSize: 1000 });
  await engine.start();
  await engine.stop();
  started = performance.now();
  await engine.rebuild('templates');
  const rebuildSeconds = (performance.now() - started) / 1000;
  await db.query('ANALYZE rm_templates.templates');

  // Uncached search: a random tenant, three filters (status, skill level, template type) plus a price
  // cap, a keyword prefix and a sort, straight on the read model (count and page).
  const latencies: number[] = [];
  for (let i = 0; i < 400; i++) {
    const word = BENCH_WORDS[i % BENCH_WORDS.length]!;
    const t0 = performance.now();
    await searchTemplates(db.kysely, `tenant-${(i * 7) % options.tenants}`, {
      statuses: ['active'],
      skillLevels: [BENCH_LEVELS[i % BENCH_LEVELS.length]!],
      templateTypes: [BENCH_TYPES[i % BENCH_TYPES.length]!, BENCH_TYPES[(i + 1) % BENCH_TYPES.length]!],
      priceMax: 40_000,
      keyword: word.slice(0, 4 + (i % 3)),
      sort: SEARCH_SORTS[i % SEARCH_SORTS.length]!,
      order: 'desc',
      page: 1,
      pageSize: 20,
    });
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  await store.close();
  await db.close();

  // The service over HTTP, its projections at the head already (the rebuild set the checkpoint).
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-bench-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    LOG_LEVEL: 'silent',
    PORT: '0',
    RATE_LIMIT_PER_MINUTE: '10000000',
    TEMPLATE_OPS_PER_MINUTE: '10000000',
    TEMPLATE_MAX_PER_TENANT: '10000000',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `bench${Date.now()}` } : {}),
  });
  const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
  try {
    const address = await service.http.listen({ port: 0, host: '127.0.0.1' });
    const { apiKey } = await service.apiKeys.create({
      tenantId: 'tenant-3',
      userId: 'bench',
      name: 'bench',
      permissions: ['templates:write'],
    });
    const auth = `authorization=Bearer ${apiKey}`;
    const searchUrl = `${address}/v1/templates?skillLevels=beginner,intermediate&templateTypes=base,specialized&q=pott&sort=usage`;
    await autocannon(['-c', '8', '-d', '1', '-H', auth, searchUrl]); // warm-up: fills the cache
    const cached = await autocannon(['-c', '32', '-d', String(seconds), '-H', auth, searchUrl]);
    const creates = await autocannon([
      '-c',
      '32',
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      auth,
      '-H',
      'content-type=application/json',
      '-I',
      '-b',
      JSON.stringify({
        name: 'Bench course [<id>]',
        templateType: 'custom',
        defaultDuration: 60,
        defaultSkillLevel: 'beginner',
        tags: [{ name: 'topic', value: 'bench', type: 'topic' }],
      }),
      `${address}/v1/templates`,
    ]);
    return {
      templates: options.templates,
      tenants: options.tenants,
      events: Number(events),
      seedSeconds: round(seedSeconds, 1),
      searchRebuildSeconds: round(rebuildSeconds, 1),
      searchRebuildEventsPerSecond: Math.round(Number(events) / rebuildSeconds),
      uncachedSearchP50Ms: round(percentile(latencies, 50)),
      uncachedSearchP95Ms: round(percentile(latencies, 95)),
      cache: options.redisUrl ? 'redis' : 'memory',
      cachedSearchRequestsPerSecond: Math.round(cached.requests.average),
      cachedSearchLatencyP99Ms: cached.latency.p99,
      cachedSearchNon2xx: cached.non2xx + cached.errors,
      createTemplatesPerSecond: Math.round(creates.requests.average),
      createLatencyP50Ms: creates.latency.p50,
      createLatencyP99Ms: creates.latency.p99,
      createNon2xx: creates.non2xx + creates.errors,
    };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
