// Scratch event stores for restore drills (ports/scratch-store.ts). On PostgreSQL a database of its own,
// `kyo_drill_<name>` on the live server (the role needs CREATEDB), so the drill's tables never share a
// schema with the live ones and dropping it removes everything; on PGlite an in-memory instance in a worker
// thread of its own (a drill restores and rebuilds every read model there: never on the event loop).
import { createPgDatabase } from '../sql/pg-database.js';
import { createWorkerPgliteDatabase } from '../sql/pglite-worker-database.js';
import type { ScratchStore, ScratchStores } from '../../ports/scratch-store.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { bulkRestore } from './bulk-restore.js';
import { createPostgresEventStore } from './postgres-event-store.js';

function scratchOver(db: SqlDatabase, description: string, dropDatabase: () => Promise<void>): ScratchStore {
  const eventStore = createPostgresEventStore(db);
  let dropped = false;
  return {
    db,
    eventStore,
    target: { description, restore: (batches, options) => bulkRestore(db, batches, options), close: async () => undefined },
    async drop() {
      if (dropped) return;
      dropped = true;
      await eventStore.close();
      await db.close();
      await dropDatabase();
    },
  };
}

/** `liveDb` and its URL: the scratch database is made on the same server. Without a URL: PGlite in memory,
 * in a worker thread. */
export function createScratchStores(liveDb: SqlDatabase, databaseUrl: string | undefined, connectTimeoutMs?: number): ScratchStores {
  return async (name) => {
    if (!/^[a-z0-9_]{1,40}$/.test(name)) throw new RangeError(`scratch store name ${JSON.stringify(name)}: lowercase letters, digits, _`);
    if (!databaseUrl)
      return scratchOver(await createWorkerPgliteDatabase({ maintenance: false }), `pglite:memory:${name}`, async () => undefined);
    const database = `kyo_drill_${name}`;
    await liveDb.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await liveDb.query(`CREATE DATABASE ${database}`);
    const url = new URL(databaseUrl);
    url.pathname = `/${database}`;
    const db = createPgDatabase({
      connectionString: url.toString(),
      maxConnections: 4,
      applicationName: 'kyo-drill',
      ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
    });
    return scratchOver(db, database, async () => void (await liveDb.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)));
  };
}
