// `npm run bench`: prints one JSON document of measured figures. PostgreSQL runs as a throwaway, durable
// (fsync on) local server, as in production; PGlite is measured on smaller volumes since it is the
// single-process embedded default. BENCH_EVENTS scales the rebuild run (default 1,000,000).
import { createPostgresEventStore, migrateEventStore } from '../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../src/adapters/sql/pglite-database.js';
import { startPostgres } from '../test/support/local-services.js';
import { benchEventStore } from './event-store-bench.js';
import { benchProjectionRebuild } from './projection-bench.js';
import { benchTemplates } from './template-bench.js';
import { benchBatches } from './batch-bench.js';
import { benchBackups } from './backup-bench.js';
import { benchRestores } from './restore-bench.js';
import { benchStorm, type StormKind } from './storm-bench.js';
import { startRedis } from '../test/support/local-services.js';
import { benchTenantRestore } from './tenant-restore-bench.js';
import { benchDeployments, freshDatabase } from './deployment-bench.js';
import { startDocker } from '../test/support/local-services.js';
import { ensureBusyboxImage } from '../test/support/busybox-image.js';
import { benchEmbeddedIdle } from './embedded-idle-bench.js';
import { benchNotify } from './notify-bench.js';

const rebuildEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const only = new Set((process.env.BENCH_ONLY ?? 'postgres,pglite,templates,batches,storm,embedded-idle').split(','));
const benchTemplatesCount = Number(process.env.BENCH_TEMPLATES ?? 100_000);
const benchBatchItems = Number(process.env.BENCH_BATCH_ITEMS ?? 10_000);
const benchBatchLargeItems = Number(process.env.BENCH_BATCH_LARGE_ITEMS ?? 100_000);
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const report: Record<string, unknown> = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version, date: new Date().toISOString() },
};

if (only.has('postgres')) {
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  try {
    log('postgres: event store');
    const db = createPgDatabase({ connectionString: server.url, maxConnections: 24 });
    await migrateEventStore(db);
    const store = createPostgresEventStore(
      db,
      process.env.BENCH_IN_FLIGHT ? { maxAppendsInFlight: Number(process.env.BENCH_IN_FLIGHT) } : {},
    );
    const eventStore = await benchEventStore(store, {});
    log(`postgres: rebuild of ${rebuildEvents} events`);
    const rebuild = await benchProjectionRebuild(db, store, { events: rebuildEvents });
    report.postgres = { eventStore, rebuild };
    await store.close();
    await db.close();
  } finally {
    await server.stop();
  }
}

if (only.has('templates')) {
  // Its own database on its own durable server, so the event-store figures above do not weigh on it.
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop: async () => {} } : await startRedis();
  try {
    log(`templates: ${benchTemplatesCount} templates over 50 tenants`);
    report.templates = await benchTemplates(server.url, {
      templates: benchTemplatesCount,
      tenants: 50,
      ...('url' in redis ? { redisUrl: redis.url } : {}),
    });
  } finally {
    if ('url' in redis) await redis.stop();
    await server.stop();
  }
}

if (only.has('batches')) {
  // A create batch through the real service on its own durable PostgreSQL, with BullMQ on a local Redis.
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  const redis = process.env.BENCH_REDIS_URL ? { url: process.env.BENCH_REDIS_URL, stop: async () => {} } : await startRedis();
  try {
    if (!('url' in redis)) throw new Error(`Redis unavailable: ${redis.skipReason}`);
    report.batches = await benchBatches(server.url, { items: benchBatchItems, largeItems: benchBatchLargeItems, redisUrl: redis.url, log });
  } finally {
    if ('url' in redis) await redis.stop();
    await server.stop();
  }
}

if (only.has('tenant-restore')) {
  // BENCH_ONLY=tenant-restore: 1,000 aggregates restored in place, on PostgreSQL and on the embedded PGlite.
  const aggregates = Number(process.env.BENCH_RESTORE_AGGREGATES ?? 1000);
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  try {
    log(`tenant-restore: ${aggregates} aggregates on postgres`);
    const postgres = await benchTenantRestore({ aggregates, databaseUrl: server.url });
    log(`tenant-restore: ${aggregates} aggregates on pglite`);
    const pglite = await benchTenantRestore({ aggregates });
    report.tenantRestore = { postgres, pglite };
  } finally {
    await server.stop();
  }
}

if (only.has('deployments')) {
  // The reconciler on its own durable PostgreSQL; containers on podman's Docker API (or BENCH_DOCKER_HOST).
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  const docker = process.env.BENCH_DOCKER_HOST ? { url: process.env.BENCH_DOCKER_HOST, stop: async () => {} } : await startDocker();
  try {
    if ('url' in docker) await ensureBusyboxImage(docker.url);
    log('deployments: 3 services x 2 replicas, a failed health gate and its rollback');
    report.deployments = await benchDeployments(() => freshDatabase(server.url), 'url' in docker ? docker.url : undefined);
  } finally {
    if ('url' in docker) await docker.stop();
    await server.stop();
  }
}

if (only.has('pglite')) {
  log('pglite: event store');
  const db = await createPgliteDatabase();
  await migrateEventStore(db);
  const store = createPostgresEventStore(db);
  const eventStore = await benchEventStore(store, { scale: 0.2 });
  log('pglite: rebuild of 200000 events');
  const rebuild = await benchProjectionRebuild(db, store, { events: Math.min(rebuildEvents, 200_000) });
  report.pglite = { eventStore, rebuild };
  await store.close();
  await db.close();
}

if (only.has('backups')) {
  // Full backups of BENCH_EVENTS seeded events (filesystem and s3rver) and an incremental of the last
  // 10,000, on a durable PostgreSQL; the embedded store beside it with at most 200,000 events.
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  try {
    log(`backups: postgres, ${rebuildEvents} events`);
    const db = createPgDatabase({ connectionString: server.url, maxConnections: 8 });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db);
    const postgres = await benchBackups(db, store, { events: rebuildEvents, s3: true });
    await store.close();
    await db.close();
    log('backups: pglite');
    const lite = await createPgliteDatabase();
    await migrateEventStore(lite);
    const liteStore = createPostgresEventStore(lite);
    const pglite = await benchBackups(lite, liteStore, { events: Math.min(rebuildEvents, 200_000) });
    await liteStore.close();
    await lite.close();
    report.backups = { postgres, pglite };
  } finally {
    await server.stop();
  }
}

if (only.has('restores')) {
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  try {
    const events = Number(process.env.BENCH_RESTORE_EVENTS ?? 1_000_000);
    report.restores = await benchRestores(server.url, { events, embeddedEvents: Math.min(events, 200_000) });
  } finally {
    await server.stop();
  }
}

if (only.has('notify')) {
  // BENCH_ONLY=notify: single-event appends with and without LISTEN/NOTIFY on a durable PostgreSQL (best of two rounds).
  const server = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => {} }
    : await startPostgres({ durable: true });
  if (!('url' in server)) throw new Error(`PostgreSQL unavailable: ${server.skipReason}`);
  try {
    log('notify: single-event appends with and without the change feed');
    report.notify = await benchNotify(server.url, { appends: Number(process.env.BENCH_NOTIFY_APPENDS ?? 2000) });
  } finally {
    await server.stop();
  }
}

if (only.has('embedded-idle')) {
  // `npm start` in a fresh copy of the project: time to /health (first start, then restart), idle CPU and RSS.
  report.embeddedIdle = await benchEmbeddedIdle({ idleSeconds: Number(process.env.BENCH_IDLE_SECONDS ?? 30), log });
}

if (only.has('storm')) {
  // One tenant's storm of restores, drills, backups and batches; another tenant's reads and /health meanwhile.
  report.storm = await benchStorm({
    requests: Number(process.env.BENCH_STORM_REQUESTS ?? 80),
    seconds: Number(process.env.BENCH_STORM_SECONDS ?? 120),
    ...(process.env.BENCH_STORM_KINDS ? { kinds: process.env.BENCH_STORM_KINDS.split(',') as StormKind[] } : {}),
    log,
  });
}

process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(0);
