// Two instances on one PostgreSQL database, each with its own pool and LISTEN connection. Every poll is a
// minute long, so what B sees within a test's seconds it saw because A's NOTIFY woke it, not by polling.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createSqlJobQueue, enqueueInTransaction } from '../../../src/adapters/queue/sql-job-queue.js';
import { createPgChangeFeed } from '../../../src/adapters/sql/pg-change-feed.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import type { ChangeFeed } from '../../../src/ports/change-feed.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { until } from '../queue/job-queue.contract.js';

const MINUTE = 60_000;
const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] LISTEN/NOTIFY change feed: ${postgres.skipReason}`);

interface Instance {
  readonly db: SqlDatabase;
  readonly feed: ChangeFeed;
}

describe.skipIf(!postgres.url)('PostgreSQL change feed (LISTEN/NOTIFY)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function instances(): Promise<[Instance, Instance, string]> {
    const url = await createTestDatabase(postgres.url!);
    const open = async (): Promise<Instance> => {
      const db = createPgDatabase({ connectionString: url, maxConnections: 4 });
      const feed = await createPgChangeFeed({ connectionString: url, db, prefix: 'kyo', reconnectMs: 300 });
      cleanups.push(async () => (await feed.close(), await db.close()));
      return { db, feed };
    };
    const a = await open();
    const b = await open();
    await migrateEventStore(a.db);
    await createSqlJobQueue(a.db).migrate();
    return [a, b, url];
  }

  const event = (type: string) => ({ id: randomUUID(), type, data: {}, metadata: {} });

  async function subscribeB(b: Instance) {
    const store = createPostgresEventStore(b.db, { changeFeed: b.feed, pollIntervalMs: MINUTE, listeningPollMs: MINUTE });
    const seen: RecordedEvent[] = [];
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    const subscription = store.subscribeToAll({ onBatch: async (events) => void seen.push(...events), onCaughtUp: () => caughtUp() });
    cleanups.push(async () => (await subscription.stop(), await store.close()));
    await ready;
    return seen;
  }

  it('an append in A wakes a subscription in B', { timeout: 10_000 }, async () => {
    const [a, b] = await instances();
    const seen = await subscribeB(b);
    const storeA = createPostgresEventStore(a.db, { changeFeed: a.feed, pollIntervalMs: MINUTE, listeningPollMs: MINUTE });
    cleanups.push(() => storeA.close());
    await storeA.append('noted-1', [event('Noted')], { expectedRevision: 'no_stream' });
    await until(() => seen.length === 1, 8_000);
    // A burst is coalesced into few NOTIFYs, and B still sees every event.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => storeA.append(`noted-${i + 2}`, [event('Noted')], { expectedRevision: 'no_stream' })),
    );
    await until(() => seen.length === 21, 8_000);
    expect(new Set(seen.map((e) => e.streamId)).size).toBe(21);
  });

  it('a job enqueued in A, or committed in A with a checkpoint, runs in B', { timeout: 10_000 }, async () => {
    const [a, b] = await instances();
    const queueA = createSqlJobQueue(a.db, { changeFeed: a.feed, pollIntervalMs: MINUTE, listeningPollMs: MINUTE });
    const queueB = createSqlJobQueue(b.db, { changeFeed: b.feed, pollIntervalMs: MINUTE, listeningPollMs: MINUTE });
    cleanups.push(async () => (await queueB.close(), await queueA.close()));
    const ran: string[] = [];
    await queueB.work('mail', async (job) => void ran.push(job.id));
    await new Promise((resolve) => setTimeout(resolve, 100)); // B has looked once and sleeps for a minute

    await queueA.enqueue('mail', 'direct', {});
    await until(() => ran.includes('direct'), 8_000);
    await a.db.transaction((tx) => enqueueInTransaction(tx, 'mail', 'in-a-transaction', {}));
    queueA.jobsCommitted?.('mail');
    await until(() => ran.includes('in-a-transaction'), 8_000);
    expect(ran).toEqual(['direct', 'in-a-transaction']);
  });

  it('listens again after its connection is lost, and the words after that arrive', { timeout: 10_000 }, async () => {
    const [a, b] = await instances();
    const seen = await subscribeB(b);
    const storeA = createPostgresEventStore(a.db, { changeFeed: a.feed, pollIntervalMs: MINUTE, listeningPollMs: MINUTE });
    cleanups.push(() => storeA.close());
    await a.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kyo-platform-listen' AND datname = current_database()`,
    );
    await until(() => !b.feed.listening(), 5_000);
    await until(() => b.feed.listening() && a.feed.listening(), 5_000);
    const before = seen.length;
    await storeA.append('after-loss-1', [event('Noted')], { expectedRevision: 'no_stream' });
    await until(() => seen.length === before + 1, 5_000);
    expect(seen.at(-1)!.streamId).toBe('after-loss-1');
  });
});
