// Process managers on the embedded stack: an event leads to exactly one job, even when the events are
// delivered again (checkpoint reset, restart), because job ids derive from event ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue } from '../../src/adapters/queue/sql-job-queue.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { createProcessRuntime } from '../../src/processes/process-runtime.js';
import { processCommandContext, type ProcessManager } from '../../src/processes/process-manager.js';
import { counted } from '../projections/fixtures/events.js';

const echo: ProcessManager = {
  name: 'echo',
  filter: { categories: ['counted'], eventTypes: ['Ping'] },
  async handle(event, context) {
    await context.enqueue('echo', { streamId: event.streamId, n: Number(event.data.n) });
  },
};

describe('process runtime with the SQL job queue', () => {
  let db: SqlDatabase;
  let store: EventStore;
  beforeAll(async () => {
    db = await createPgliteDatabase();
    await migrateEventStore(db);
    store = createPostgresEventStore(db, { pollIntervalMs: 10 });
  });
  afterAll(async () => db?.close());

  it('turns each event into one job, and a redelivery into none', async () => {
    const queue = createSqlJobQueue(db, { pollIntervalMs: 10 });
    await queue.migrate();
    const handled: number[] = [];
    const stopWorker = await queue.work('echo', async (job) => void handled.push(Number(job.payload.n)), { concurrency: 2 });
    const runtime = createProcessRuntime({ db, eventStore: store, queue, processes: [echo], leaseRetryMs: 20 });
    await runtime.start();
    try {
      await store.append('counted-pm1', [counted('Ping', { n: 1 }), counted('Other'), counted('Ping', { n: 2 })], {
        expectedRevision: 'no_stream',
      });
      await store.append('counted-pm2', [counted('Ping', { n: 3 })], { expectedRevision: 'no_stream' });
      const waitFor = async (n: number) => {
        const deadline = Date.now() + 10_000;
        while (handled.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      await waitFor(3);
      expect([...handled].sort()).toEqual([1, 2, 3]);
      // Redeliver everything: a restart after a lost checkpoint must not double the work.
      await runtime.stop();
      await db.query(`UPDATE projection_checkpoints SET commit_position = 0, prepare_position = 0 WHERE name = 'process_echo'`);
      await runtime.start();
      await store.append('counted-pm3', [counted('Ping', { n: 4 })], { expectedRevision: 'no_stream' });
      await waitFor(4);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect([...handled].sort()).toEqual([1, 2, 3, 4]);
      expect(runtime.states()).toEqual([{ name: 'process_echo', state: 'running' }]);
    } finally {
      await runtime.stop();
      await stopWorker();
    }
  });

  it('runs the job as soon as the checkpoint commits, not at the next poll of the queue', async () => {
    // Both poll intervals a minute: only the wake-ups (append → process manager, commit → worker) can
    // carry the event to the job within the test's seconds.
    const slowStore = createPostgresEventStore(db, { pollIntervalMs: 60_000 });
    const queue = createSqlJobQueue(db, { pollIntervalMs: 60_000 });
    await queue.migrate();
    const handled: number[] = [];
    const stopWorker = await queue.work('echo', async (job) => void handled.push(Number(job.payload.n)));
    const runtime = createProcessRuntime({
      db,
      eventStore: slowStore,
      queue,
      processes: [{ ...echo, name: 'echo_wake' }],
      leaseRetryMs: 20,
    });
    await runtime.start();
    try {
      // This process manager starts at position 0, so the earlier tests' events run through it too, in any
      // interleaving with ours: wait for each of ours by its number, not by the count of jobs run.
      for (const n of [11, 12, 13]) {
        await slowStore.append(`counted-wake${n}`, [counted('Ping', { n })], { expectedRevision: 'no_stream' });
        const deadline = Date.now() + 5_000;
        while (!handled.includes(n) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        expect(handled.includes(n), `job ${n} ran within 5 s`).toBe(true);
      }
      expect(handled.filter((n) => n > 10)).toEqual([11, 12, 13]);
    } finally {
      await runtime.stop();
      await stopWorker();
      await queue.close();
    }
  });

  it('gives follow-up commands an idempotent context caused by the event', async () => {
    const [event] = await store.readStream('counted-pm1', { maxCount: 1 });
    const first = processCommandContext('echo', event!);
    expect(first).toEqual(processCommandContext('echo', event!));
    expect(first).toMatchObject({ tenantId: 't1', userId: 'process:echo', causationId: event!.id });
    expect(processCommandContext('echo', event!, 'second').commandId).not.toBe(first.commandId);
  });
});
