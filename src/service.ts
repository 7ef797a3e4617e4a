// The composition root: picks each adapter from the configuration (embedded defaults or real servers),
// hands them to every feature module (src/features) and wires what the features return into the
// projections, processes and HTTP, and knows the order to stop them in. It names no feature.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createApiKeyStore } from './adapters/auth/api-key-store.js';
import type { ApiKeyStore } from './ports/api-keys.js';
import { createIdempotencyRecordStore } from './adapters/idempotency/idempotency-record-store.js';
import { createPostgresEventStore, migrateEventStore } from './adapters/event-store/postgres-event-store.js';
import { postgresHorizon } from './adapters/event-store/postgres-horizon.js';
import { postgresLagCounter } from './adapters/event-store/postgres-lag-counter.js';
import { instrumentEventStore } from './adapters/observability/instrumented-event-store.js';
import { createMetrics } from './adapters/observability/metrics.js';
import type { Metrics } from './ports/metrics.js';
import { createPgDatabase } from './adapters/sql/pg-database.js';
import { createPgChangeFeed } from './adapters/sql/pg-change-feed.js';
import { createPgliteDatabase } from './adapters/sql/pglite-database.js';
import type { SqlDatabase } from './ports/sql-database.js';
import type { Config } from './config.js';
import type { EventStore } from './ports/event-store.js';
import { PLATFORM_PERMISSION } from './domain/principal.js';
import { buildHttpApp } from './http/app.js';
import { readYourWrites } from './http/read-your-writes.js';
import { apiKeyRoutes } from './http/api-keys/index.js';
import { createMemoryReadCache } from './adapters/cache/memory-read-cache.js';
import { createRedisReadCache } from './adapters/cache/redis-read-cache.js';
import type { ReadCache } from './ports/read-cache.js';
import { cacheCounters, readCacheSizeGauges } from './adapters/observability/metrics.js';
import { operationsRoutes, type ReadinessCheck } from './http/operations/index.js';
import type { ParkedWork } from './http/operations/parked-routes.js';
import { createProjectionEngine } from './projections/projection-engine.js';
import type { ProjectionEngine } from './projections/projector.js';
import { createSqlJobQueue } from './adapters/queue/sql-job-queue.js';
import { createJobSlots, type JobQueue } from './ports/job-queue.js';
import type { JobWorker } from './processes/job-worker.js';
import type { ProcessManager } from './processes/process-manager.js';
import { createProcessRuntime, type ProcessRuntime } from './processes/process-runtime.js';
import type { FeatureDeps, FeatureModule } from './features/feature-module.js';
import type { OrchestratorRegistry } from './ports/orchestrator.js';
import { createOrchestratorRegistry } from './adapters/orchestrator/registry.js';
import { features } from './features/index.js';
import { createSideEffectsSwitch } from './features/side-effects.js';
import { sideEffectsRoutes } from './http/operations/side-effects-routes.js';

export const VERSION = '0.1.0';

export interface Service {
  readonly http: FastifyInstance;
  readonly mode: { eventStore: string; database: string; queue: string; cache: string };
  readonly db: SqlDatabase;
  readonly eventStore: EventStore;
  readonly projections: ProjectionEngine;
  readonly processes: ProcessRuntime;
  readonly queue: JobQueue;
  readonly apiKeys: ApiKeyStore;
  readonly metrics: Metrics;
  /** Drains HTTP, stops subscriptions after their current batch, then closes connections. */
  close(): Promise<void>;
}

export interface ServiceOverrides {
  /** Tests inject a clock; production uses the wall clock. */
  readonly clock?: () => Date;
  /** Tests build many services in one process; default metrics would register twice. */
  readonly defaultMetrics?: boolean;
  /** Process managers and job workers to run besides the ones the feature modules contribute. */
  readonly processes?: readonly ProcessManager[];
  readonly workers?: readonly JobWorker[];
  /** Tests run orchestrators of their own (an in-memory fake) and feature modules built with fakes. */
  readonly orchestrators?: OrchestratorRegistry;
  readonly features?: readonly FeatureModule[];
}

export async function startService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<Service> {
  const metrics = createMetrics({ defaultMetrics: overrides.defaultMetrics ?? true });
  mkdirSync(config.dataDir, { recursive: true });

  const db = config.DATABASE_URL
    ? createPgDatabase({
        connectionString: config.DATABASE_URL,
        maxConnections: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      })
    : await createPgliteDatabase({ dataDir: join(config.dataDir, 'pglite'), sharedBuffersMb: config.PGLITE_SHARED_BUFFERS_MB });
  // PostgreSQL: other processes' appends and enqueues arrive as notifications. The embedded store needs none:
  // its data directory is this process's alone, so every write is local and wakes its readers directly.
  const changeFeed = config.DATABASE_URL
    ? await createPgChangeFeed({
        connectionString: config.DATABASE_URL,
        db,
        prefix: config.REDIS_KEY_PREFIX,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        logger,
      })
    : undefined;
  const wakeOptions = changeFeed ? { changeFeed, listeningPollMs: config.SAFETY_POLL_MS } : { pollIntervalMs: config.SAFETY_POLL_MS };

  let rawStore: EventStore;
  if (config.EVENTSTORE_CONNECTION_STRING) {
    // Client libraries of servers that are not configured are never loaded: each cost the start time.
    const { createEventStoreDbEventStore } = await import('./adapters/event-store/eventstoredb-event-store.js');
    rawStore = createEventStoreDbEventStore(config.EVENTSTORE_CONNECTION_STRING);
  } else {
    await migrateEventStore(db);
    rawStore = createPostgresEventStore(db, {
      logger,
      ...wakeOptions,
      ...(config.DATABASE_URL ? { maxAppendsInFlight: config.APPENDS_IN_FLIGHT } : {}),
    });
  }
  const eventStore = instrumentEventStore(rawStore, metrics);

  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: false })
    : undefined;
  redis?.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  // Commands fail fast while the client is not connected (no offline queue), so give it a moment to
  // connect before serving; a Redis that is down does not stop the start (reads fall back to the database).
  if (redis && redis.status !== 'ready') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 3000);
      redis.once('ready', done);
      function done() {
        clearTimeout(timer);
        redis!.off('ready', done);
        resolve();
      }
    });
  }

  // Cache-aside for read models: Redis when configured, else an in-process LRU. Invalidated by the
  // features' projectors after each commit, never by the command side.
  let cache: ReadCache;
  if (redis) {
    cache = createRedisReadCache(redis, {
      prefix: `${config.REDIS_KEY_PREFIX}:cache`,
      counters: cacheCounters(metrics, 'redis'),
      onError: (error, context) => logger.debug({ err: error, ...context }, 'cache unavailable; reading the database'),
    });
  } else {
    const memoryCache = createMemoryReadCache({ counters: cacheCounters(metrics, 'memory'), maxBytes: config.CACHE_MAX_BYTES });
    readCacheSizeGauges(metrics, () => memoryCache.size());
    cache = memoryCache;
  }

  const apiKeys = createApiKeyStore(db);
  await apiKeys.migrate();
  await ensureBootstrapKey(apiKeys, config, logger);
  const idempotencyRecords = createIdempotencyRecordStore(db);
  await idempotencyRecords.migrate();

  // BullMQ when Redis is configured; otherwise the jobs table in the same database, which process managers
  // write in their checkpoint transaction, so pending work survives a restart.
  let queue: JobQueue;
  if (config.REDIS_URL) {
    const { createBullmqJobQueue } = await import('./adapters/queue/bullmq-job-queue.js');
    queue = createBullmqJobQueue(config.REDIS_URL, { prefix: config.REDIS_KEY_PREFIX });
  } else {
    const sqlQueue = createSqlJobQueue(db, { ...wakeOptions, leaseMs: config.JOB_LEASE_MS });
    await sqlQueue.migrate();
    queue = sqlQueue;
  }

  const clock = overrides.clock ?? (() => new Date());
  const orchestrators = overrides.orchestrators ?? (await createOrchestratorRegistry(config));
  const featureDeps: FeatureDeps = {
    config,
    logger,
    metrics,
    db,
    eventStore,
    queue,
    cache,
    clock,
    orchestrators,
    commands: { eventStore, clock },
    allProjectors: () => parts.flatMap((part) => part.projectors ?? []),
  };
  const modules = overrides.features ?? features;
  const parts = modules.map((feature) => feature.create(featureDeps));

  const projections = createProjectionEngine({
    db,
    eventStore,
    projectors: parts.flatMap((part) => part.projectors ?? []),
    batchSize: config.PROJECTION_BATCH_SIZE,
    logger,
    onBatchApplied: (name: string, count: number) => metrics.projectionEventsApplied.inc({ projection: name }, count),
    ...(config.EVENTSTORE_CONNECTION_STRING ? {} : { lagCounter: postgresLagCounter(db) }),
  });
  if (config.SERVICE_ROLE !== 'workers') await projections.start();

  const processes = createProcessRuntime({
    db,
    eventStore,
    queue,
    processes: [...parts.flatMap((part) => part.processManagers ?? []), ...(overrides.processes ?? [])],
    logger,
    batchSize: config.PROJECTION_BATCH_SIZE,
    parkAfter: config.PROCESS_PARK_AFTER,
  });
  const workers = config.SERVICE_ROLE === 'api' ? [] : [...parts.flatMap((part) => part.jobWorkers ?? []), ...(overrides.workers ?? [])];
  // One bound for every long job of this instance, across their queues (per tenant, each queue has perGroup).
  const longJobSlots = createJobSlots(config.LONG_JOBS_TOTAL);
  const stopWorkers: (() => Promise<void>)[] = [];
  const stopTasks: (() => Promise<void>)[] = [];
  // Everything that acts outside starts behind one switch: a restored store keeps it paused until resumed.
  const sideEffects = await createSideEffectsSwitch(
    config.EVENTSTORE_CONNECTION_STRING ? undefined : db,
    async () => {
      if (config.SERVICE_ROLE !== 'workers') await processes.start();
      stopWorkers.push(
        ...(await Promise.all(
          workers.map((worker) =>
            queue.work(worker.queue, worker.handler, {
              concurrency: worker.concurrency ?? 4,
              ...(worker.perGroup !== undefined ? { perGroup: worker.perGroup } : {}),
              ...(worker.long ? { slots: longJobSlots } : {}),
            }),
          ),
        )),
      );
      stopTasks.push(...parts.flatMap((part) => part.backgroundTasks ?? []).map((task) => task.start()));
    },
    logger,
    { checkEveryMs: config.SIDE_EFFECTS_PAUSE_CHECK_MS },
  );

  // Every queue a feature works, whether or not this instance runs its workers (SERVICE_ROLE=api lists too).
  const workedQueues = [
    ...new Set([...parts.flatMap((part) => part.jobWorkers ?? []), ...(overrides.workers ?? [])].map((worker) => worker.queue)),
  ];
  const parked = parkedWork(processes, queue, workedQueues);

  const horizon = config.EVENTSTORE_CONNECTION_STRING ? undefined : postgresHorizon(db);
  const ryw = readYourWrites(projections, eventStore, config.READ_YOUR_WRITES_TIMEOUT_MS, horizon?.acknowledgedHead);

  const checks: ReadinessCheck[] = [
    { name: config.DATABASE_URL ? 'postgres' : 'pglite', check: async () => void (await db.query('SELECT 1')) },
    {
      name: config.EVENTSTORE_CONNECTION_STRING ? 'eventstoredb' : 'event-store',
      check: async () => void (await eventStore.headPosition()),
    },
    ...(redis ? [{ name: 'redis', check: async () => void (await redis.ping()) }] : []),
    {
      name: 'process-managers',
      check: async () => {
        const failed = processes.states().filter((state) => state.state === 'failed');
        if (failed.length > 0) throw new Error(failed.map((state) => `${state.name}: ${state.lastError ?? 'failed'}`).join('; '));
      },
    },
    ...parts.flatMap((part) => part.readinessChecks ?? []),
    sideEffects.readinessCheck,
  ];

  const http = await buildHttpApp({
    logger,
    apiKeys,
    idempotencyRecords,
    metrics,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    ...(config.JWT_SECRET
      ? {
          jwt: {
            secret: config.JWT_SECRET,
            ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
            ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
          },
        }
      : {}),
    routes: async (app) => {
      await app.register(operationsRoutes, {
        metrics,
        projections,
        checks,
        alerts: modules.flatMap((feature, index) => {
          const alerts = parts[index]!.alerts;
          return alerts ? [{ name: feature.name, alerts }] : [];
        }),
        version: VERSION,
        parked,
        ...(horizon ? { horizon: { probe: horizon, degradedAfterSeconds: config.HORIZON_DEGRADED_SECONDS } } : {}),
      });
      await app.register(apiKeyRoutes, { apiKeys });
      await app.register(sideEffectsRoutes, { state: sideEffects.state, resume: sideEffects.resume });
      for (const part of parts) {
        for (const routes of part.routes?.({ readYourWrites: ryw, projections }) ?? []) await app.register(routes.plugin, routes.options);
      }
    },
  });
  await http.ready();

  return {
    http,
    mode: {
      eventStore: config.EVENTSTORE_CONNECTION_STRING ? 'eventstoredb' : config.DATABASE_URL ? 'postgres' : 'pglite',
      database: config.DATABASE_URL ? 'postgres' : 'pglite',
      queue: redis ? 'bullmq' : 'sql',
      cache: redis ? 'redis' : 'memory',
    },
    db,
    eventStore,
    projections,
    processes,
    queue,
    apiKeys,
    metrics,
    async close() {
      sideEffects.close();
      await http.close();
      // Producers first (process managers enqueue), then the workers finish their running jobs.
      await processes.stop();
      await Promise.all(stopTasks.map((stop) => stop()));
      await Promise.all(stopWorkers.map((stop) => stop()));
      await queue.close();
      await orchestrators.close();
      await projections.stop();
      await cache.close();
      await eventStore.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await changeFeed?.close();
      await db.close();
    },
  };
}

/** The process runtime's parked events and the worked queues' parked jobs, for /ready, /metrics and operators. */
function parkedWork(processes: ProcessRuntime, queue: JobQueue, queues: readonly string[]): ParkedWork {
  return {
    async counts() {
      const [events, jobs] = await Promise.all([processes.parkedCounts(), Promise.all(queues.map((name) => queue.counts(name)))]);
      return { events: [...events.values()].reduce((a, b) => a + b, 0), jobs: jobs.reduce((sum, counts) => sum + counts.failed, 0) };
    },
    async list(limit) {
      const [events, jobs] = await Promise.all([processes.parked(limit), Promise.all(queues.map((name) => queue.parked(name, limit)))]);
      return {
        events: events.map(({ consumer, streamRevision: _revision, ...rest }) => ({ process: consumer, ...rest })),
        jobs: jobs.flat().slice(0, limit),
      };
    },
    retryEvent: (process, eventId) => processes.retryParked(process, eventId),
    async retryJob(name, jobId) {
      if (!queues.includes(name)) return 'unknown_queue';
      return (await queue.retryParked(name, jobId)) ? 'retried' : 'not_parked';
    },
  };
}

/**
 * First start of an empty database: create an admin key for BOOTSTRAP_TENANT and write it to
 * DATA_DIR/bootstrap-api-key (mode 0600), so the first curl works without another step. The key itself
 * never goes to the log.
 */
async function ensureBootstrapKey(apiKeys: ApiKeyStore, config: Config, logger: Logger): Promise<void> {
  if ((await apiKeys.count()) > 0) return;
  const file = join(config.dataDir, 'bootstrap-api-key');
  const { keyId, apiKey } = await apiKeys.create({
    tenantId: config.BOOTSTRAP_TENANT,
    userId: 'bootstrap-admin',
    name: 'bootstrap',
    permissions: ['admin', PLATFORM_PERMISSION],
  });
  writeFileSync(file, `${apiKey}\n`, { mode: 0o600 });
  logger.warn(
    { keyId, file, tenant: config.BOOTSTRAP_TENANT },
    existsSync(file)
      ? 'created the bootstrap admin API key; read it from the file, then revoke it once you have your own keys'
      : 'bootstrap key file missing',
  );
}
