// #7.25: the embedded database gets the upkeep that autovacuum gives a PostgreSQL server. Without
// statistics the planner scanned whole read-model tables instead of using their indexes, and since PGlite
// runs on the event loop every request waited behind those scans.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { createProjectionEngine } from '../../../src/projections/projection-engine.js';
import type { Projector } from '../../../src/projections/projector.js';
import { counted } from '../../projections/fixtures/events.js';

/** One read-model row per event, so the rows a projection writes are exactly the events it gets. */
const rowPerEvent: Projector = {
  name: 'row_per_event',
  filter: { categories: ['counted'] },
  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('rows')
      .ifNotExists()
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('n', 'integer', (c) => c.notNull())
      .execute();
  },
  async apply(db, events) {
    await db
      .insertInto('rows')
      .values(events.map((event) => ({ event_id: event.id, n: 0 })))
      .execute();
  },
};

const until = async (condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
};

const statisticsRows = async (db: SqlDatabase, schema: string, table: string) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = $1 AND tablename = $2', [schema, table]))[0]!
    .n;

describe('PGlite maintenance', () => {
  let db: SqlDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('analyzes a read-model table once a projection has written many rows to it', async () => {
    db = await createPgliteDatabase();
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    const engine = createProjectionEngine({ db, eventStore: store, projectors: [rowPerEvent], batchSize: 250 });
    await engine.start();
    try {
      let last;
      for (let i = 0; i < 12; i++)
        last = await store.append(
          `counted-stats${i}`,
          Array.from({ length: 100 }, () => counted()),
          { expectedRevision: 'no_stream' },
        );
      await engine.waitFor(last!.position, { timeoutMs: 20_000 });
      expect(
        await until(async () => (await statisticsRows(db!, 'rm_row_per_event', 'rows')) > 0),
        'statistics for rm_row_per_event.rows',
      ).toBe(true);
      const [table] = await db.query<{ reltuples: number }>(
        `SELECT reltuples::int AS reltuples FROM pg_class WHERE oid = 'rm_row_per_event.rows'::regclass`,
      );
      expect(table!.reltuples).toBeGreaterThanOrEqual(1000);
    } finally {
      await engine.stop();
    }
  });

  it('vacuums a table once updates and deletes have left many dead rows in it', async () => {
    db = await createPgliteDatabase();
    await sql`CREATE TABLE churn (id int PRIMARY KEY, v int NOT NULL)`.execute(db.kysely);
    await db.kysely
      .insertInto('churn')
      .values(Array.from({ length: 1200 }, (_, id) => ({ id, v: 0 })))
      .execute();
    for (let round = 1; round <= 3; round++) await db.kysely.updateTable('churn').set({ v: round }).execute();
    await db.kysely.deleteFrom('churn').where('id', '>=', 600).execute();
    const vacuumed = await until(async () => {
      const [row] = await db!.query<{ last_vacuum: Date | null }>(`SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'churn'`);
      return row?.last_vacuum != null;
    });
    expect(vacuumed, 'churn was vacuumed').toBe(true);
  });

  it('vacuums and analyzes tables written with raw SQL (event store, job queue) on its schedule', async () => {
    db = await createPgliteDatabase({ maintenance: { scheduleMs: 100 } });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db);
    for (let i = 0; i < 5; i++) await store.append('counted-raw', [counted()], { expectedRevision: 'any' });
    const done = await until(async () => {
      const rows = await db!.query<{ relname: string }>(
        `SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL AND last_analyze IS NOT NULL`,
      );
      const names = rows.map((row) => row.relname);
      return names.includes('es_streams') && names.includes('es_events');
    });
    expect(done, 'es_streams and es_events vacuumed and analyzed').toBe(true);
  });
});
