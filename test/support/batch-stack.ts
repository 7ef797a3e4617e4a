// The batch feature's parts wired by hand on one database (PGlite, or PostgreSQL by URL): event store,
// template and batch projections, the SQL job queue, the batch process manager and its workers. Tests of
// the command layer and the process manager use it without HTTP.
import { postgresHorizon } from '../../src/adapters/event-store/postgres-horizon.js';
import { activeChildReads, templateProjectionCatchUp } from '../../src/projections/templates/template-catch-up.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue, type SqlJobQueue } from '../../src/adapters/queue/sql-job-queue.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import type { BatchCommandDeps } from '../../src/commands/batches/batch-commands.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import type { TemplateCommandDeps } from '../../src/commands/templates/index.js';
import type { EventStore } from '../../src/ports/event-store.js';
import {
  BATCH_CONTROL_QUEUE,
  BATCH_ITEMS_QUEUE,
  batchControlWorker,
  batchItemsWorker,
  batchProcessManager,
  batchWorkerCache,
} from '../../src/processes/batches/batch-process.js';
import { createProcessRuntime, type ProcessRuntime } from '../../src/processes/process-runtime.js';
import { batchProjector } from '../../src/projections/batches/batch-projector.js';
import { batchSnapshotReads } from '../../src/projections/batches/batch-snapshot-reads.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import type { ProjectionEngine } from '../../src/projections/projector.js';
import { templateProjector } from '../../src/projections/templates/template-projector.js';
import { countTenantTemplates, templateSubtreeDepth } from '../../src/projections/templates/template-queries.js';

export interface BatchStack {
  db: SqlDatabase;
  eventStore: EventStore;
  projections: ProjectionEngine;
  queue: SqlJobQueue;
  processes: ProcessRuntime;
  templates: TemplateCommandDeps;
  batches: BatchCommandDeps;
  /** Starts the process manager and the workers (not started by default, so tests can look at plans). */
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  /** Waits until both projections have caught up with the event store's head. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export async function createBatchStack(
  options: {
    databaseUrl?: string;
    maxItems?: number;
    maxTemplatesPerTenant?: number;
    queueLeaseMs?: number;
  } = {},
): Promise<BatchStack> {
  const db = options.databaseUrl
    ? createPgDatabase({
        connectionString: options.databaseUrl,
        maxConnections: 10,
      })
    : await createPgliteDatabase();
  await migrateEventStore(db);
  const eventStore = createPostgresEventStore(db, { pollIntervalMs: 10 });
  const projections = createProjectionEngine({
    db,
    eventStore,
    projectors: [templateProjector(), batchProjector],
    leaseRetryMs: 20,
  });
  await projections.start();
  const queue = createSqlJobQueue(db, {
    pollIntervalMs: 10,
    ...(options.queueLeaseMs ? { leaseMs: options.queueLeaseMs } : {}),
  });
  await queue.migrate();
  const clock = () => new Date();
  const templates: TemplateCommandDeps = {
    eventStore,
    clock,
    limits: { maxTemplatesPerTenant: options.maxTemplatesPerTenant ?? 10_000 },
    countTemplates: (tenantId) => countTenantTemplates(db.kysely, tenantId),
    subtreeDepth: (templateId) => templateSubtreeDepth(db.kysely, templateId),
    activeChildren: activeChildReads(db, templateProjectionCatchUp(db, postgresHorizon(db).acknowledgedHead)),
  };
  const streams = batchWorkerCache({ eventStore, clock });
  const batches: BatchCommandDeps = {
    eventStore,
    clock,
    streams,
    reads: batchSnapshotReads(db.kysely, templateProjectionCatchUp(db, postgresHorizon(db).acknowledgedHead)),
    limits: {
      maxItems: options.maxItems ?? 100_000,
      maxTemplatesPerTenant: options.maxTemplatesPerTenant ?? 10_000,
      maxBatchesPerMinute: 1000,
    },
  };
  const processes = createProcessRuntime({
    db,
    eventStore,
    queue,
    processes: [batchProcessManager],
    leaseRetryMs: 20,
    retryDelayMs: () => 50,
  });
  let stops: (() => Promise<void>)[] = [];
  const stack: BatchStack = {
    db,
    eventStore,
    projections,
    queue,
    processes,
    templates,
    batches,
    async startWorkers() {
      await processes.start();
      const cache = streams;
      stops = [
        await queue.work(BATCH_CONTROL_QUEUE, batchControlWorker(batches, cache), { concurrency: 2 }),
        await queue.work(BATCH_ITEMS_QUEUE, batchItemsWorker(templates, cache), { concurrency: 4 }),
      ];
    },
    async stopWorkers() {
      await processes.stop();
      await Promise.all(stops.map((stop) => stop()));
      stops = [];
    },
    async caughtUp() {
      const head = await eventStore.headPosition();
      if (head) await projections.waitFor(head, { timeoutMs: 20_000 });
    },
    async close() {
      await stack.stopWorkers();
      await queue.close();
      await projections.stop();
      await eventStore.close();
      await db.close();
    },
  };
  return stack;
}

export const contextOf = (tenantId: string, userId: string, commandId: string): CommandContext => ({
  tenantId,
  userId,
  commandId,
  correlationId: commandId,
});

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
