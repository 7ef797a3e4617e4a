// One bad event must never wedge a process manager for every tenant: a delay past 24.85 days is held as
// 64-bit time, and an event whose handling keeps failing is parked after N attempts (visible, retryable)
// while the events after it, other tenants' included, go on. On PGlite and PostgreSQL.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue, type SqlJobQueue } from '../../src/adapters/queue/sql-job-queue.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { EventStore, EventToAppend } from '../../src/ports/event-store.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import type { ProcessManager } from '../../src/processes/process-manager.js';
import { createProcessRuntime } from '../../src/processes/process-runtime.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { until } from '../adapters/queue/job-queue.contract.js';

const ping = (tenantId: string, data: Record<string, string | number>): EventToAppend => ({
  id: randomUUID(),
  type: 'Ping',
  data,
  metadata: { tenantId, occurredAt: new Date().toISOString() },
});

function poisonSpec(name: string, open: () => Promise<SqlDatabase>) {
  describe(`poison events: ${name}`, () => {
    let db: SqlDatabase;
    let store: EventStore;
    let queue: SqlJobQueue;
    beforeAll(async () => {
      db = await open();
      await migrateEventStore(db);
      store = createPostgresEventStore(db, { pollIntervalMs: 20 });
      queue = createSqlJobQueue(db, { pollIntervalMs: 20 });
      await queue.migrate();
    });
    afterAll(async () => {
      await queue?.close();
      await db?.close();
    });

    it('holds a 30-day delay (2,591,998,232 ms) without failing the batch, and goes on with later events', async () => {
      const q = `later${randomUUID().slice(0, 8)}`;
      const category = `later${randomUUID().slice(0, 8)}`;
      const later: ProcessManager = {
        name: `later_${randomUUID().slice(0, 8)}`,
        filter: { categories: [category] },
        async handle(event, context) {
          await context.enqueue(q, { n: Number(event.data.n) }, { delayMs: Number(event.data.delayMs) });
        },
      };
      const ran: number[] = [];
      const stopWorker = await queue.work(q, async (job) => void ran.push(Number(job.payload.n)));
      const runtime = createProcessRuntime({ db, eventStore: store, queue, processes: [later], leaseRetryMs: 20, retryDelayMs: () => 20 });
      await runtime.start();
      try {
        await store.append(`${category}-a`, [ping('tenant-a', { n: 1, delayMs: 2_591_998_232 })], { expectedRevision: 'no_stream' });
        await store.append(`${category}-b`, [ping('tenant-b', { n: 2, delayMs: 0 })], { expectedRevision: 'no_stream' });
        await until(() => ran.includes(2), 10_000);
        expect(ran).toEqual([2]);
        expect(await queue.counts(q)).toMatchObject({ delayed: 1, completed: 1, failed: 0 });
        expect(runtime.states()).toEqual([{ name: `process_${later.name}`, state: 'running' }]);
        expect(await runtime.parked()).toEqual([]);
      } finally {
        await runtime.stop();
        await stopWorker();
      }
    });

    it('parks an event that fails N times while another tenant goes on; lists it, counts it, and a retry handles it once', async () => {
      const q = `picky${randomUUID().slice(0, 8)}`;
      const category = `picky${randomUUID().slice(0, 8)}`;
      let healed = false;
      const tries = new Map<number, number>();
      const picky: ProcessManager = {
        name: `picky_${randomUUID().slice(0, 8)}`,
        filter: { categories: [category] },
        async handle(event, context) {
          const n = Number(event.data.n);
          tries.set(n, (tries.get(n) ?? 0) + 1);
          if (event.data.poison && !healed) throw new Error(`cannot handle ${n}`);
          await context.enqueue(q, { n });
        },
      };
      const ran: number[] = [];
      const stopWorker = await queue.work(q, async (job) => void ran.push(Number(job.payload.n)));
      const runtime = createProcessRuntime({
        db,
        eventStore: store,
        queue,
        processes: [picky],
        leaseRetryMs: 20,
        retryDelayMs: () => 20,
        parkAfter: 3,
      });
      const processName = `process_${picky.name}`;
      await runtime.start();
      try {
        // One append: the poison event and the good ones share a batch.
        await store.append(`${category}-a`, [ping('tenant-a', { n: 1 }), ping('tenant-a', { n: 2, poison: 'yes' })], {
          expectedRevision: 'no_stream',
        });
        await store.append(`${category}-b`, [ping('tenant-b', { n: 3 })], { expectedRevision: 'no_stream' });
        await until(() => ran.includes(3), 15_000);
        await until(async () => (await runtime.parked()).length === 1, 15_000);
        const [parked] = await runtime.parked();
        expect(parked).toMatchObject({
          consumer: processName,
          streamId: `${category}-a`,
          eventType: 'Ping',
          tenantId: 'tenant-a',
          attempts: 3,
        });
        expect(parked!.lastError).toMatch(/cannot handle 2/);
        expect(await runtime.parkedCounts()).toEqual(new Map([[processName, 1]]));
        await until(() => runtime.states()[0]!.state === 'running', 5000);
        expect([...ran].sort()).toEqual([1, 3]);

        // Still failing: the retry throws and the event stays parked.
        await expect(runtime.retryParked(processName, parked!.eventId)).rejects.toThrow(/cannot handle 2/);
        expect(await runtime.parked()).toHaveLength(1);

        healed = true;
        expect(await runtime.retryParked(processName, parked!.eventId)).toBe('retried');
        await until(() => ran.includes(2), 10_000);
        expect(await runtime.parked()).toEqual([]);
        expect(await runtime.retryParked(processName, parked!.eventId)).toBe('not_parked');
        expect(await runtime.retryParked('process_nope', parked!.eventId)).toBe('unknown_process');

        // The parked event survives a restart as parked, and is not handled again by the restarted runner.
        await runtime.stop();
        const before = tries.get(2);
        await runtime.start();
        await store.append(`${category}-c`, [ping('tenant-b', { n: 4 })], { expectedRevision: 'no_stream' });
        await until(() => ran.includes(4), 10_000);
        expect(tries.get(2)).toBe(before);
        expect([...ran].sort()).toEqual([1, 2, 3, 4]);
      } finally {
        await runtime.stop();
        await stopWorker();
      }
    });
  });
}

poisonSpec('PGlite', () => createPgliteDatabase());

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] poison events on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('PostgreSQL', () => {
  poisonSpec('PostgreSQL', async () => createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) }));
});
