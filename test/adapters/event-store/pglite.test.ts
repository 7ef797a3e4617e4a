import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import { eventStoreContract } from './event-store.contract.js';

// In memory, one database for the whole file (PGlite takes seconds to start).
eventStoreContract('PGlite', async () => {
  const db = await createPgliteDatabase();
  await migrateEventStore(db);
  const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
  return { store, cleanup: async () => (await store.close(), await db.close()) };
});
