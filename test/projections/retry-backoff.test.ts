// #7.11: the retry backoff of a checkpointed runner grows only while batches fail one after another. A
// projection or a process manager that recovers (a batch commits) starts again from the shortest wait;
// before the fix, five single transient failures separated by good batches waited 0.5, 1, 2, 4, 8 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollingSubscription } from '../../src/adapters/event-store/polling-subscription.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue } from '../../src/adapters/queue/sql-job-queue.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { ProcessManager } from '../../src/processes/process-manager.js';
import { createProcessRuntime } from '../../src/processes/process-runtime.js';
import { defaultRetryDelayMs } from '../../src/subscriptions/checkpointed-runner.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import type { Projector } from '../../src/projections/projector.js';
import { countingProjector } from './fixtures/counting-projector.js';
import { counted } from './fixtures/events.js';

const TRANSIENT_FAILURES = 5;

/** Fails the first time it meets each event id of type `Flaky`, then succeeds: a transient fault. */
function failsOncePerFlakyEvent() {
  const seen = new Set<string>();
  return (events: readonly { id: string; type: string }[]) => {
    const fresh = events.find((event) => event.type === 'Flaky' && !seen.has(event.id));
    if (fresh) {
      seen.add(fresh.id);
      throw new Error(`transient failure on ${fresh.id}`);
    }
  };
}

/** A short clock: records the consecutive-failure count the runner asks a delay for, and waits 5 ms. */
function recordingDelay() {
  const asked: number[] = [];
  return { asked, retryDelayMs: (consecutiveFailures: number) => (asked.push(consecutiveFailures), 5) };
}

describe('retry backoff after recovery (PGlite)', () => {
  let db: SqlDatabase;
  let store: EventStore;
  beforeAll(async () => {
    db = await createPgliteDatabase();
    await migrateEventStore(db);
    store = createPostgresEventStore(db, { pollIntervalMs: 10 });
  });
  afterAll(async () => db?.close());

  it('keeps the documented growth while failures are consecutive', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(defaultRetryDelayMs)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('a projection starts from the shortest wait again after each good batch', async () => {
    const failOnce = failsOncePerFlakyEvent();
    const counting = countingProjector('backoff_projection');
    const flaky: Projector = {
      ...counting,
      async apply(trx, events) {
        failOnce(events);
        await counting.apply(trx, events);
      },
    };
    const clock = recordingDelay();
    const engine = createProjectionEngine({
      db,
      eventStore: store,
      projectors: [flaky],
      retryDelayMs: clock.retryDelayMs,
      leaseRetryMs: 10,
    });
    await engine.start();
    try {
      for (let i = 0; i < TRANSIENT_FAILURES; i++) {
        const good = await store.append('counted-backoff', [counted()], { expectedRevision: 'any' });
        await engine.waitFor(good.position, { timeoutMs: 10_000 });
        const bad = await store.append('counted-backoff', [counted('Flaky')], { expectedRevision: 'any' });
        await engine.waitFor(bad.position, { timeoutMs: 10_000 });
      }
      expect(clock.asked).toEqual(Array.from({ length: TRANSIENT_FAILURES }, () => 1));
    } finally {
      await engine.stop();
    }
  });

  it('a process manager starts from the shortest wait again after each good batch', async () => {
    const failOnce = failsOncePerFlakyEvent();
    const handled: string[] = [];
    const flaky: ProcessManager = {
      name: 'backoff_process',
      filter: { categories: ['pmbackoff'] },
      async handle(event) {
        failOnce([event]);
        handled.push(event.id);
      },
    };
    const queue = createSqlJobQueue(db, { pollIntervalMs: 10 });
    await queue.migrate();
    const clock = recordingDelay();
    const runtime = createProcessRuntime({
      db,
      eventStore: store,
      queue,
      processes: [flaky],
      retryDelayMs: clock.retryDelayMs,
      leaseRetryMs: 10,
      batchSize: 100,
    });
    await runtime.start();
    const until = async (condition: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    try {
      for (let i = 0; i < TRANSIENT_FAILURES; i++) {
        const goodEvent = counted();
        await store.append('pmbackoff-1', [goodEvent], { expectedRevision: 'any' });
        await until(() => handled.includes(goodEvent.id));
        const badEvent = counted('Flaky');
        await store.append('pmbackoff-1', [badEvent], { expectedRevision: 'any' });
        await until(() => handled.includes(badEvent.id));
      }
      expect(clock.asked).toEqual(Array.from({ length: TRANSIENT_FAILURES }, () => 1));
    } finally {
      await runtime.stop();
      await queue.close();
    }
  });
});

// #15.26: a failed read of the log is the store's to retry (the subscription goes on from its checkpoint);
// the runner logs it under the consumer's name and counts no failed batch.
describe('a failed read of the log (PGlite)', () => {
  it('is logged with the consumer and retried without failing a batch', async () => {
    const db = await createPgliteDatabase();
    await migrateEventStore(db);
    const inner = createPostgresEventStore(db, { pollIntervalMs: 10 });
    let failReads = 2;
    const readAll: EventStore['readAll'] = async (options) => {
      if (failReads > 0) {
        failReads--;
        throw new Error('connection terminated unexpectedly');
      }
      return inner.readAll(options);
    };
    // The store's own polling subscription, over reads that fail twice.
    const flaky: EventStore = {
      ...inner,
      readAll,
      subscribeToAll: (options) => pollingSubscription({ readAll, pollIntervalMs: 10 }, options),
    };
    const warnings: object[] = [];
    const { asked, retryDelayMs } = recordingDelay();
    const engine = createProjectionEngine({
      db,
      eventStore: flaky,
      projectors: [countingProjector('read_failure_projection')],
      batchSize: 10,
      leaseRetryMs: 10,
      retryDelayMs,
      logger: { info: () => undefined, error: () => undefined, warn: (obj) => void warnings.push(obj) },
    });
    try {
      const { position } = await inner.append('counted-read-failure', [counted(), counted()], { expectedRevision: 'no_stream' });
      await engine.start();
      await engine.waitFor(position, { timeoutMs: 10_000 });
      expect(warnings).toEqual([
        expect.objectContaining({ consumer: 'read_failure_projection', retryInMs: 50, err: expect.any(Error) }),
        expect.objectContaining({ consumer: 'read_failure_projection', retryInMs: 100, err: expect.any(Error) }),
      ]);
      expect(asked).toEqual([]); // no failed batch, so no batch backoff
      const [status] = await engine.status();
      expect(status).toMatchObject({ state: 'running' });
      expect(status!.lastError).toBeUndefined();
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});
