import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { START, comparePositions, type RecordedEvent } from '../../../src/ports/event-store.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { eventStoreContract } from './event-store.contract.js';
import { withPreparedQueries } from './prepared-queries.js';

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] event store contract on PostgreSQL: ${postgres.skipReason}`);

describe.skipIf(!postgres.url)('PostgreSQL', () => {
  eventStoreContract('PostgreSQL, plain statements', async () => {
    // Without `queryPrepared`: every statement parsed and planned per call (the PGlite path, on pg).
    const db: SqlDatabase = {
      ...createPgDatabase({ connectionString: await createTestDatabase(postgres.url!), maxConnections: 16 }),
      queryPrepared: undefined,
    };
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    return { store, cleanup: async () => (await store.close(), await db.close()) };
  });

  // The same SQL as named, server-prepared statements (the path a database with `queryPrepared` takes).
  eventStoreContract('PostgreSQL, prepared statements', async () => {
    const url = await createTestDatabase(postgres.url!);
    const db = withPreparedQueries(createPgDatabase({ connectionString: url, maxConnections: 16 }), url);
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    return { store, cleanup: async () => (await store.close(), await db.close()) };
  });

  // One append call in flight: every concurrent append waits and goes in a group (es_append_many), so the
  // whole contract, the concurrency property included, runs through group commit.
  eventStoreContract('PostgreSQL, group commit', async () => {
    const db = createPgDatabase({ connectionString: await createTestDatabase(postgres.url!), maxConnections: 16 });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10, maxAppendsInFlight: 1 });
    return { store, cleanup: async () => (await store.close(), await db.close()) };
  });

  it('commits a group together, refusing only the appends that break their rule', async () => {
    const db = createPgDatabase({ connectionString: await createTestDatabase(postgres.url!), maxConnections: 4 });
    await migrateEventStore(db);
    let groups = 0;
    const counting: SqlDatabase = {
      ...db,
      queryPrepared: (name, text, params) => {
        if (text.includes('es_append_many')) groups++;
        return db.queryPrepared!(name, text, params);
      },
    };
    const store = createPostgresEventStore(counting, { maxAppendsInFlight: 1 });
    const event = () => ({ id: randomUUID(), type: 'Grouped', data: {}, metadata: {} });
    try {
      await store.append('group-a', [event()], { expectedRevision: 'no_stream' });
      const repeated = event();
      await store.append('group-b', [repeated], { expectedRevision: 'no_stream' });
      const outcomes = await Promise.allSettled([
        store.append('group-c', [event()], { expectedRevision: 'no_stream' }), // goes alone: the slot is free
        store.append('group-a', [event()], { expectedRevision: 0n }), // ok
        store.append('group-a', [event()], { expectedRevision: 0n }), // wrong by then: the one before moved it
        store.append('group-b', [repeated, event()], { expectedRevision: 'any' }), // some ids repeated
        store.append('group-d', [event(), event()], { expectedRevision: 'no_stream' }), // ok
        store.append('group-b', [repeated], { expectedRevision: 'any' }), // a repeat: no-op
      ]);
      expect(groups).toBeGreaterThan(0);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as Error).name))).toEqual([
        'ok',
        'ok',
        'WrongExpectedRevisionError',
        'IdempotencyConflictError',
        'ok',
        'ok',
      ]);
      expect((await store.readStream('group-a')).map((e) => e.revision)).toEqual([0n, 1n]);
      expect(await store.readStream('group-b')).toHaveLength(1);
      expect(await store.readStream('group-d')).toHaveLength(2);
    } finally {
      await store.close();
      await db.close();
    }
  });

  it('migrates a database twice, and concurrently, without harm', async () => {
    const url = await createTestDatabase(postgres.url!);
    const dbs = [createPgDatabase({ connectionString: url }), createPgDatabase({ connectionString: url })];
    try {
      await Promise.all(dbs.map((db) => migrateEventStore(db)));
      await migrateEventStore(dbs[0]!);
      const store = createPostgresEventStore(dbs[1]!);
      expect(
        (await store.append('migrated-1', [{ id: randomUUID(), type: 'A', data: {}, metadata: {} }], { expectedRevision: 'no_stream' }))
          .nextExpectedRevision,
      ).toBe(0n);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

describe.skipIf(!postgres.url)('PostgreSQL gap-free order', () => {
  it('never lets a subscriber skip an event whose transaction started first but committed last', async () => {
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({
      after: await store.headPosition(),
      filter: { categories: ['gap'] },
      onBatch: async (events) => void seen.push(...events),
    });
    try {
      await slow.query('BEGIN');
      // Takes its transaction id (and sequence value) now, commits later.
      await slow.query("SELECT * FROM es_append('gap-early', 'no_stream', NULL, $1::jsonb)", [
        JSON.stringify([{ id: randomUUID(), type: 'Early', data: {}, metadata: {} }]),
      ]);
      const late = await store.append('gap-late', [{ id: randomUUID(), type: 'Late', data: {}, metadata: {} }], {
        expectedRevision: 'no_stream',
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The later commit is held back while the earlier transaction is open: delivering it now would let
      // a checkpoint move past the early event.
      expect(seen).toEqual([]);
      expect((await store.readAll({ filter: { categories: ['gap'] } })).events).toEqual([]);
      await slow.query('COMMIT');
      const deadline = Date.now() + 5000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(seen.map((e) => e.streamId)).toEqual(['gap-early', 'gap-late']);
      expect(seen[1]!.position).toEqual(late.position);
    } finally {
      await subscription.stop();
      await slow.end();
      await store.close();
      await db.close();
    }
  });

  // #15.26: the horizon passes over a transaction of the reader's snapshot only on proof that it ended and
  // left no event here, and that proof must come from a snapshot in which it has ended. A READ COMMITTED
  // check takes its snapshot a few microseconds before asking, and a transaction that committed in between
  // used to read as "committed, no event" (its events still invisible to that snapshot): the horizon passed
  // over them and a reader skipped them for good. REPEATABLE READ holds such a snapshot still for as long as
  // the test needs, which makes the race deterministic.
  it('never passes over a transaction whose commit the snapshot proving it cannot see yet', async () => {
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const writer = new pg.Client({ connectionString: url });
    const reader = new pg.Client({ connectionString: url });
    await Promise.all([writer.connect(), reader.connect()]);
    try {
      await writer.query('BEGIN');
      const [held] = (
        await writer.query<{ commit_position: string }>("SELECT commit_position FROM es_append('held-1', 'no_stream', NULL, $1::jsonb)", [
          JSON.stringify([{ id: randomUUID(), type: 'Held', data: {}, metadata: {} }]),
        ])
      ).rows;
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const [{ snapshot }] = (await reader.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot')).rows as [
        { snapshot: string },
      ];
      await writer.query('COMMIT'); // ended now, but not in the reader's snapshot
      const [{ horizon }] = (
        await reader.query<{ horizon: string }>(
          'SELECT es_horizon_of($1::pg_snapshot, (SELECT commit_offset FROM es_position_offset))::text AS horizon',
          [snapshot],
        )
      ).rows as [{ horizon: string }];
      // Readers take events strictly below the horizon: it must not be above the held transaction's events.
      expect(BigInt(horizon)).toBeLessThanOrEqual(BigInt(held!.commit_position));
      await reader.query('COMMIT');
      // Once the reader's snapshot sees it ended, its events are readable and the horizon moves past them.
      const [{ now }] = (await reader.query<{ now: string }>('SELECT es_horizon()::text AS now')).rows as [{ now: string }];
      expect(BigInt(now)).toBeGreaterThan(BigInt(held!.commit_position));
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await Promise.all([writer.end(), reader.end()]);
      await db.close();
    }
  });

  // The flake of "moves lastPosition past a range it filtered out" (#7.23): other test files create
  // databases and hold transactions on the same server, and a cluster-wide horizon (the snapshot's xmin)
  // hid this database's fresh appends behind them. Only a transaction in this database can write its log.
  it('is not held back by a transaction open in another database of the cluster', async () => {
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db);
    const elsewhere = new pg.Client({ connectionString: postgres.url! });
    await elsewhere.connect();
    const sameDatabase = new pg.Client({ connectionString: url });
    await sameDatabase.connect();
    const event = (type: string) => ({ id: randomUUID(), type, data: {}, metadata: {} });
    try {
      await elsewhere.query('BEGIN');
      await elsewhere.query('SELECT pg_current_xact_id()'); // holds an xid: the cluster's xmin stays below it
      const mine = await store.append('skip-1', [event('Mine')], { expectedRevision: 'no_stream' });
      const others = await store.append('other-1', [event('Other'), event('Other')], { expectedRevision: 'no_stream' });
      expect(await store.headPosition()).toEqual(others.position);
      const page = await store.readAll({ after: mine.position, filter: { categories: ['skip'] } });
      expect(page).toMatchObject({ events: [], isEnd: true });
      expect(comparePositions(page.lastPosition, others.position)).toBeGreaterThanOrEqual(0);
      expect((await store.readAll({ after: START })).events.map((e) => e.type)).toEqual(['Mine', 'Other', 'Other']);

      // A transaction of this database, though, may still append below the head: readers wait for it.
      await sameDatabase.query('BEGIN');
      await sameDatabase.query('SELECT pg_current_xact_id()');
      const later = await store.append('other-2', [event('Later')], { expectedRevision: 'no_stream' });
      expect(await store.headPosition()).toEqual(others.position);
      await sameDatabase.query('ROLLBACK');
      expect(await store.headPosition()).toEqual(later.position);
    } finally {
      await elsewhere.query('ROLLBACK').catch(() => undefined);
      await Promise.all([elsewhere.end(), sameDatabase.end()]);
      await store.close();
      await db.close();
    }
  });
});
