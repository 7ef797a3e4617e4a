// The projection engine on PGlite and on a real PostgreSQL: exactly-once batches with the checkpoint,
// read-your-writes waits, lag, rebuild with an atomic swap, and one active runner per projector.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import { ProjectionTimeoutError, RebuildInProgressError, UnknownProjectionError, liveSchema } from '../../src/projections/projector.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { countingProjector } from './fixtures/counting-projector.js';
import { counted, seedCounted } from './fixtures/events.js';

async function countsOf(db: SqlDatabase, name = 'counts'): Promise<Map<string, number>> {
  const rows = await db.query<{ stream_id: string; n: number }>(`SELECT stream_id, n FROM ${liveSchema(name)}.counts`);
  return new Map(rows.map((r) => [r.stream_id, Number(r.n)]));
}

const until = async (condition: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

function engineSuite(name: string, open: () => Promise<{ db: SqlDatabase; close(): Promise<void> }>) {
  describe(name, () => {
    let db: SqlDatabase;
    let store: EventStore;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ db, close } = await open());
      await migrateEventStore(db);
      store = createPostgresEventStore(db, { pollIntervalMs: 20 });
    });
    afterAll(async () => close?.());

    it('projects every event exactly once and reports no lag once caught up', async () => {
      const engine = createProjectionEngine({ db, eventStore: store, projectors: [countingProjector('exact')], batchSize: 37 });
      const streams = await seedCounted(store, 5, 120);
      await engine.start();
      try {
        const last = await store.append(streams[0]!, [counted()], { expectedRevision: 'any' });
        await engine.waitFor(last.position, { timeoutMs: 15_000 });
        const counts = await countsOf(db, 'exact');
        expect(streams.map((s) => counts.get(s))).toEqual([121, 120, 120, 120, 120]);
        const [status] = await engine.status();
        expect(status).toMatchObject({ name: 'exact', state: 'running', eventsBehind: 0, secondsBehind: 0 });
      } finally {
        await engine.stop();
      }
    });

    it('times out a wait with the lagging projections named, and rejects unknown names', async () => {
      const engine = createProjectionEngine({ db, eventStore: store, projectors: [countingProjector('never_started')] });
      const { position } = await store.append(`counted-wait${Date.now()}`, [counted()], { expectedRevision: 'no_stream' });
      await engine.start();
      await engine.stop(); // stopped before it can catch up (or not): then wait for a far position
      const far = { commit: position.commit + 10_000_000n, prepare: 0n };
      const error = await engine.waitFor(far, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProjectionTimeoutError);
      expect((error as ProjectionTimeoutError).lagging).toEqual(['never_started']);
      await expect(engine.waitFor(position, { timeoutMs: 10, projections: ['nope'] })).rejects.toBeInstanceOf(UnknownProjectionError);
    });

    it('rolls back a failing batch whole, reports it, and resumes once the fault is gone', async () => {
      let failing = true;
      const projector = countingProjector('faulty', { failOn: (type) => failing && type === 'Poison' });
      const engine = createProjectionEngine({ db, eventStore: store, projectors: [projector], batchSize: 1000 });
      const stream = `counted-faulty${Date.now()}`;
      await store.append(stream, [counted(), counted(), counted('Poison'), counted()], { expectedRevision: 'no_stream' });
      await engine.start();
      try {
        await until(async () => (await engine.status())[0]!.state === 'failed');
        const status = (await engine.status())[0]!;
        expect(status.lastError).toMatch(/Poison/);
        expect(status.eventsBehind).toBeGreaterThan(0);
        // Nothing of the failing batch is visible: not even the events before the poison.
        expect((await countsOf(db, 'faulty')).get(stream)).toBeUndefined();
        failing = false;
        await until(async () => (await countsOf(db, 'faulty')).get(stream) === 4);
      } finally {
        await engine.stop();
      }
    });

    it('rebuilds into fresh tables, serving the old ones until an atomic swap', async () => {
      const projector = countingProjector('rebuilt');
      const engine = createProjectionEngine({ db, eventStore: store, projectors: [projector], batchSize: 100 });
      const streams = await seedCounted(store, 3, 200);
      await engine.start();
      try {
        const head = await store.headPosition();
        await engine.waitFor(head, { timeoutMs: 15_000 });
        const before = await countsOf(db, 'rebuilt');
        // Damage the live model so the rebuild has something to repair; readers see it until the swap.
        await db.query(`UPDATE ${liveSchema('rebuilt')}.counts SET n = -1 WHERE stream_id = $1`, [streams[0]]);
        const rebuilding = engine.rebuild('rebuilt');
        await expect(engine.rebuild('rebuilt')).rejects.toBeInstanceOf(RebuildInProgressError);
        await expect(engine.rebuild('missing')).rejects.toBeInstanceOf(UnknownProjectionError);
        const writes = seedCounted(store, 1, 100, 'during');
        await rebuilding;
        const [extra] = await writes;
        await engine.waitFor(await store.headPosition(), { timeoutMs: 15_000 });
        const after = await countsOf(db, 'rebuilt');
        for (const stream of streams) expect(after.get(stream)).toBe(before.get(stream));
        expect(after.get(extra!)).toBe(100);
        const leftovers = await db.query(`SELECT 1 FROM information_schema.schemata WHERE schema_name = $1`, [
          `${liveSchema('rebuilt')}__rebuild`,
        ]);
        expect(leftovers).toHaveLength(0);
      } finally {
        await engine.stop();
      }
    });
  });
}

engineSuite('projection engine on PGlite', async () => {
  const db = await createPgliteDatabase();
  return { db, close: () => db.close() };
});

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] projection engine on PostgreSQL: ${postgres.skipReason}`);

describe.skipIf(!postgres.url)('on PostgreSQL only', () => {
  engineSuite('projection engine on PostgreSQL', async () => {
    const db = createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) });
    return { db, close: () => db.close() };
  });

  it('runs one instance per projector across processes; a standby takes over when the holder stops', async () => {
    const url = await createTestDatabase(postgres.url!);
    const dbA = createPgDatabase({ connectionString: url });
    const dbB = createPgDatabase({ connectionString: url });
    await migrateEventStore(dbA);
    const storeA = createPostgresEventStore(dbA, { pollIntervalMs: 20 });
    const storeB = createPostgresEventStore(dbB, { pollIntervalMs: 20 });
    const engineA = createProjectionEngine({ db: dbA, eventStore: storeA, projectors: [countingProjector('shared')], leaseRetryMs: 50 });
    const engineB = createProjectionEngine({ db: dbB, eventStore: storeB, projectors: [countingProjector('shared')], leaseRetryMs: 50 });
    try {
      await engineA.start();
      await until(async () => (await engineA.status())[0]!.state === 'running');
      await engineB.start();
      await until(async () => (await engineB.status())[0]!.state === 'standby');
      const streams = await seedCounted(storeA, 2, 100);
      await engineA.waitFor(await storeA.headPosition(), { timeoutMs: 15_000 });
      await engineA.stop();
      await until(async () => (await engineB.status())[0]!.state === 'running');
      const more = await storeB.append(streams[0]!, [counted(), counted()], { expectedRevision: 'any' });
      await engineB.waitFor(more.position, { timeoutMs: 15_000 });
      const counts = await countsOf(dbB, 'shared');
      expect(streams.map((s) => counts.get(s))).toEqual([102, 100]);
    } finally {
      await engineA.stop();
      await engineB.stop();
      await dbA.close();
      await dbB.close();
    }
  });

  it('a kysely handle reads the live schema by name through a swap', async () => {
    // Guard for the query side: queries name rm_<projection>, never an OID, so they follow the swap.
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url });
    try {
      await sql`CREATE SCHEMA rm_x; CREATE TABLE rm_x.t (v int); INSERT INTO rm_x.t VALUES (1)`.execute(db.kysely);
      await sql`CREATE SCHEMA rm_x__rebuild; CREATE TABLE rm_x__rebuild.t (v int); INSERT INTO rm_x__rebuild.t VALUES (2)`.execute(
        db.kysely,
      );
      await db.transaction(async (tx) => {
        await tx.query('DROP SCHEMA rm_x CASCADE');
        await tx.query('ALTER SCHEMA rm_x__rebuild RENAME TO rm_x');
      });
      expect(await db.query('SELECT v FROM rm_x.t')).toEqual([{ v: 2 }]);
    } finally {
      await db.close();
    }
  });
});
