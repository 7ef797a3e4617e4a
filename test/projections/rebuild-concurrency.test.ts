// Rebuilds against other instances, on PGlite (two engines sharing the embedded database) and on a real
// PostgreSQL (two engines with their own connection pools on one database):
// #7.9  two rebuilds of one projection at once must not both run: the second is refused at once.
// #7.10 a swap must never move the live checkpoint backwards while another instance holds the lease
//       and keeps projecting.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import { comparePositions, type EventStore, type Position } from '../../src/ports/event-store.js';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import { RebuildInProgressError, liveSchema, type ProjectionEngine } from '../../src/projections/projector.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { countingProjector } from './fixtures/counting-projector.js';
import { counted, seedCounted } from './fixtures/events.js';

interface TwoInstances {
  /** Each instance's database handle (the same one on PGlite, where one process owns the database). */
  readonly dbA: SqlDatabase;
  readonly dbB: SqlDatabase;
  close(): Promise<void>;
}

/** Waits until `engine` has projected everything acknowledged so far. The store's visible head is not
 * enough: it trails acknowledged appends while any transaction on the server is open. */
async function caughtUp(engine: ProjectionEngine, store: EventStore) {
  const marker = await store.append(`counted-marker${Date.now()}${Math.random()}`, [counted()], { expectedRevision: 'no_stream' });
  await engine.waitFor(marker.position, { timeoutMs: 20_000 });
}

const until = async (condition: () => Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Every stream's count must equal its length: an event applied twice or lost shows up here. */
async function expectExactCounts(db: SqlDatabase, store: EventStore, name: string, streams: readonly string[]) {
  const rows = await db.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${liveSchema(name)}.counts`);
  const counts = new Map(rows.map((row) => [row.stream_id, Number(row.n)]));
  for (const stream of streams) expect(counts.get(stream), stream).toBe((await store.readStream(stream)).length);
}

function rebuildSuite(label: string, open: () => Promise<TwoInstances>) {
  describe(label, () => {
    let instances: TwoInstances;
    let storeA: EventStore;
    let storeB: EventStore;
    beforeAll(async () => {
      instances = await open();
      await migrateEventStore(instances.dbA);
      storeA = createPostgresEventStore(instances.dbA, { pollIntervalMs: 10 });
      storeB = createPostgresEventStore(instances.dbB, { pollIntervalMs: 10 });
    });
    afterAll(async () => instances?.close());

    async function startPair(name: string, storeForB: EventStore = storeB): Promise<[ProjectionEngine, ProjectionEngine]> {
      const engineA = createProjectionEngine({
        db: instances.dbA,
        eventStore: storeA,
        projectors: [countingProjector(name)],
        batchSize: 50,
        leaseRetryMs: 20,
      });
      const engineB = createProjectionEngine({
        db: instances.dbB,
        eventStore: storeForB,
        projectors: [countingProjector(name)],
        batchSize: 50,
        leaseRetryMs: 20,
      });
      await engineA.start();
      await until(async () => (await engineA.status())[0]!.state === 'running');
      await engineB.start();
      await until(async () => (await engineB.status())[0]!.state === 'standby');
      return [engineA, engineB];
    }

    it('#7.9 refuses a second rebuild of the same projection on another instance while one runs', async () => {
      const name = `twice_${label.includes('PGlite') ? 'l' : 'p'}`;
      const streams = await seedCounted(storeA, 4, 300);
      const [engineA, engineB] = await startPair(name);
      try {
        await caughtUp(engineA, storeA);
        const writes = seedCounted(storeA, 2, 150, `during-${name}`);
        // Both at once, each instance with its own engine (the local guard of one engine cannot see the other).
        const first = engineA.rebuild(name);
        const second = engineB.rebuild(name);
        const outcomes = await Promise.allSettled([first, second]);
        const refused = outcomes.filter((o) => o.status === 'rejected');
        expect(refused.map((o) => (o as PromiseRejectedResult).reason)).toEqual([expect.any(RebuildInProgressError)]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const during = await writes;
        await caughtUp(engineA, storeA);
        await expectExactCounts(instances.dbA, storeA, name, [...streams, ...during]);
        // Once the first is done, a rebuild may run again, on either instance.
        await engineB.rebuild(name);
        await caughtUp(engineA, storeA);
        await expectExactCounts(instances.dbA, storeA, name, [...streams, ...during]);
      } finally {
        await engineA.stop();
        await engineB.stop();
      }
    });

    it('#7.10 never moves the live checkpoint backwards when the lease holder keeps projecting during the swap', async () => {
      const name = `forward_${label.includes('PGlite') ? 'l' : 'p'}`;
      const streams = await seedCounted(storeA, 3, 200);
      // Instance B rebuilds while A holds the lease. Each time B's rebuild reaches the end of the log (the
      // first two times), more events are written and A projects them before B goes on to its swap.
      const lateWriter: { engine?: ProjectionEngine } = {}; // A, once started
      let interventions = 0;
      let liveAhead: Position | undefined;
      const extra: string[] = [];
      const racingStoreB: EventStore = {
        ...storeB,
        async readAll(options) {
          const page = await storeB.readAll(options);
          if (page.isEnd && rebuilding && interventions < 2) {
            interventions++;
            const stream = `counted-late-${name}-${interventions}`;
            extra.push(stream);
            const { position } = await storeA.append(stream, [counted(), counted(), counted()], { expectedRevision: 'no_stream' });
            await lateWriter.engine!.waitFor(position, { timeoutMs: 20_000 });
            liveAhead = await readCheckpoint(instances.dbA, name);
          }
          return page;
        },
      };
      let rebuilding = false;
      const [engineA, engineB] = await startPair(name, racingStoreB);
      lateWriter.engine = engineA;
      try {
        await caughtUp(engineA, storeA);
        rebuilding = true;
        await engineB.rebuild(name);
        rebuilding = false;
        expect(interventions).toBe(2);
        const afterSwap = await readCheckpoint(instances.dbA, name);
        expect(
          comparePositions(afterSwap, liveAhead!),
          'checkpoint after the swap must not be below the one A had reached',
        ).toBeGreaterThanOrEqual(0);
        // What A had projected (and a reader had been told was there) is in the swapped-in tables.
        await expectExactCounts(instances.dbA, storeA, name, [...streams, ...extra]);
        await caughtUp(engineA, storeA);
        await expectExactCounts(instances.dbA, storeA, name, [...streams, ...extra]);
      } finally {
        await engineA.stop();
        await engineB.stop();
      }
    });

    it('#15.27 keeps a write the live instance confirmed during slow final catch-up reads in the swapped-in tables', async () => {
      const name = `slow_swap_${label.includes('PGlite') ? 'l' : 'p'}`;
      const streams = await seedCounted(storeA, 2, 120);
      const late = `counted-late-${name}`;
      const later = `counted-later-${name}`;
      const state: { rebuilding: boolean; endReads: number; confirmed?: Position; engineA?: ProjectionEngine } = {
        rebuilding: false,
        endReads: 0,
      };
      // B's reads at the end of the log are slow (~800 ms, as on a big, busy database): the answer is the log
      // as it was when the read began. During the first of them a write lands and A projects it (confirmed by
      // waitFor); during the next (on PostgreSQL the catch-up inside the swap) another write lands, which A
      // may project only after the swap.
      const slowStoreB: EventStore = {
        ...storeB,
        async readAll(options) {
          const page = await storeB.readAll(options);
          if (state.rebuilding && page.isEnd) {
            state.endReads++;
            if (state.endReads === 1) {
              const { position } = await storeA.append(late, [counted()], { expectedRevision: 'no_stream' });
              await state.engineA!.waitFor(position, { timeoutMs: 20_000 });
              state.confirmed = position;
            } else if (state.endReads === 2) {
              await storeA.append(later, [counted()], { expectedRevision: 'no_stream' });
            }
            await new Promise((resolve) => setTimeout(resolve, 800));
          }
          return page;
        },
      };
      const [engineA, engineB] = await startPair(name, slowStoreB);
      state.engineA = engineA;
      // A reader of the live table: once the write is confirmed, no answer may lack it.
      const missing: number[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const confirmed = state.confirmed;
          const rows = await instances.dbA
            .query<{ n: number }>(`SELECT n FROM ${liveSchema(name)}.counts WHERE stream_id = $1`, [late])
            .catch(() => [{ n: -1 }]);
          if (confirmed && Number(rows[0]?.n ?? 0) !== 1) missing.push(Number(rows[0]?.n ?? 0));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      try {
        await caughtUp(engineA, storeA);
        state.rebuilding = true;
        await engineB.rebuild(name);
        state.rebuilding = false;
        expect(state.confirmed).toBeDefined();
        expect(comparePositions(await readCheckpoint(instances.dbA, name), state.confirmed!)).toBeGreaterThanOrEqual(0);
        await caughtUp(engineA, storeA);
        await expectExactCounts(instances.dbA, storeA, name, [...streams, late, later]);
        expect(missing, 'reads of the live table that lacked the confirmed write').toEqual([]);
      } finally {
        reading = false;
        await reader;
        await engineA.stop();
        await engineB.stop();
      }
    });
  });
}

rebuildSuite('rebuild against another instance on PGlite', async () => {
  const db = await createPgliteDatabase();
  return { dbA: db, dbB: db, close: () => db.close() };
});

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] rebuild against another instance on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  rebuildSuite('rebuild against another instance on PostgreSQL', async () => {
    const url = await createTestDatabase(postgres.url!);
    const dbA = createPgDatabase({ connectionString: url });
    const dbB = createPgDatabase({ connectionString: url });
    return { dbA, dbB, close: async () => void (await Promise.all([dbA.close(), dbB.close()])) };
  });
});

// #15.27 at the SQL level: B's final catch-up read is slow the way a read on a big, busy database is slow —
// its snapshot is taken when it starts and its answer computed 800 ms later. A write whose transaction was
// open when the snapshot was taken commits meanwhile and A projects it (waitFor confirms). Before the
// horizon's fix (#15.26) that read passed over the write as "ended, no event" (its events invisible to the
// read's own snapshot), jumped its filtered checkpoint past it, and the swap dropped the confirmed write
// from the live tables while the checkpoint stayed ahead of it. The delay is injected through B's
// SqlDatabase (a REPEATABLE READ transaction holds the read's snapshot still): deterministic.
describe.skipIf(!postgres.url)('a swap after a slow read on PostgreSQL', () => {
  it('#15.27 never drops a write that committed during the slow final read and was confirmed by the live instance', async () => {
    const name = 'slow_snapshot_p';
    const url = await createTestDatabase(postgres.url!);
    const dbA = createPgDatabase({ connectionString: url });
    const dbB = createPgDatabase({ connectionString: url });
    const snapshots = new pg.Pool({ connectionString: url, max: 2 });
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    await migrateEventStore(dbA);
    const storeA = createPostgresEventStore(dbA, { pollIntervalMs: 10 });
    const slow: { during?: () => Promise<void> } = {};
    async function slowRead<R>(text: string, params: readonly unknown[]): Promise<R[]> {
      const during = text.includes('WITH horizon AS MATERIALIZED') ? slow.during : undefined;
      if (!during) return dbB.query<R>(text, params);
      slow.during = undefined;
      const client = await snapshots.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await client.query('SELECT 1'); // the read's snapshot: taken now
        await during();
        const { rows } = await client.query(text, params as unknown[]); // its answer: computed now
        await client.query('COMMIT');
        return rows as R[];
      } finally {
        client.release();
      }
    }
    const storeB = createPostgresEventStore(
      { ...dbB, query: (text, params) => slowRead(text, params ?? []), queryPrepared: (_name, text, params) => slowRead(text, params) },
      { pollIntervalMs: 10 },
    );
    const engine = (db: SqlDatabase, store: EventStore) =>
      createProjectionEngine({ db, eventStore: store, projectors: [countingProjector(name)], batchSize: 1000, leaseRetryMs: 20 });
    const engineA = engine(dbA, storeA);
    const engineB = engine(dbB, storeB);
    try {
      const streams = await seedCounted(storeA, 2, 100);
      await engineA.start();
      await until(async () => (await engineA.status())[0]!.state === 'running');
      await engineB.start();
      await until(async () => (await engineB.status())[0]!.state === 'standby');
      await caughtUp(engineA, storeA);

      // The late write's transaction is open (it holds its transaction id) when B's final read begins.
      const late = `counted-late-${name}`;
      await writer.query('BEGIN');
      await writer.query("SELECT * FROM es_append($1, 'no_stream', NULL, $2::jsonb)", [late, JSON.stringify([counted()])]);
      const after = `counted-after-${name}`;
      const marker = await storeA.append(after, [counted()], { expectedRevision: 'no_stream' });
      slow.during = async () => {
        await new Promise((resolve) => setTimeout(resolve, 800));
        await writer.query('COMMIT');
        await engineA.waitFor(marker.position, { timeoutMs: 20_000 }); // A has projected the late write
      };
      await engineB.rebuild(name);
      expect(slow.during).toBeUndefined(); // the slow read did happen
      // Right after the swap, before A projects anything more: the confirmed write is in the live tables.
      await expectExactCounts(dbA, storeA, name, [...streams, late, after]);
      await caughtUp(engineA, storeA);
      await expectExactCounts(dbA, storeA, name, [...streams, late, after]);
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await engineA.stop();
      await engineB.stop();
      await writer.end();
      await snapshots.end();
      await Promise.all([dbA.close(), dbB.close()]);
    }
  });
});
