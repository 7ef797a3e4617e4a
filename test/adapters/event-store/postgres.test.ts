import { describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { eventStoreContract } from './event-store.contract.js';

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] event store contract on PostgreSQL: ${postgres.skipReason}`);

describe.skipIf(!postgres.url)('PostgreSQL', () => {
  eventStoreContract(
    'PostgreSQL',
    async () => {
      const db = createPgDatabase({ connectionString: await createTestDatabase(postgres.url!), maxConnections: 16 });
      await migrateEventStore(db);
      const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
      return { store, recreatesDeletedStreams: true, cleanup: async () => (await store.close(), await db.close()) };
    },
    { propertyRuns: 30 },
  );
});

describe.skipIf(!postgres.url)('PostgreSQL gap-free order', () => {
  it('never lets a subscriber skip an event whose transaction started first but committed last', async () => {
    const { randomUUID } = await import('node:crypto');
    const pg = (await import('pg')).default;
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    const seen: string[] = [];
    const subscription = store.subscribeToAll({ after: await store.headPosition(), filter: { categories: ['gap'] }, onBatch: async (events) => void seen.push(...events.map((e) => e.streamId)) });
    try {
      await slow.query('BEGIN');
      // Takes its transaction id (and sequence value) now, commits later.
      await slow.query("SELECT * FROM es_append('gap-early', 'no_stream', NULL, $1::jsonb)", [
        JSON.stringify([{ id: randomUUID(), type: 'Early', data: {}, metadata: {} }]),
      ]);
      await store.append('gap-late', [{ id: randomUUID(), type: 'Late', data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The later commit is held back while the earlier transaction is open: delivering it now would
      // make a checkpoint jump past the early event.
      expect(seen).toEqual([]);
      await slow.query('COMMIT');
      const deadline = Date.now() + 5000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(seen).toEqual(['gap-early', 'gap-late']);
    } finally {
      await subscription.stop();
      await slow.end();
      await store.close();
      await db.close();
    }
  });
});
