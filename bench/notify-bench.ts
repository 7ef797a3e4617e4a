// What LISTEN/NOTIFY costs the PostgreSQL event store: single-event appends (one writer appending one after
// another, and 16 concurrent writers) with and without the change feed, on one durable server. The NOTIFY
// goes after the append's commit in a transaction of its own, coalesced per channel.
import { randomUUID } from 'node:crypto';
import { createPostgresEventStore, migrateEventStore } from '../src/adapters/event-store/postgres-event-store.js';
import { createPgChangeFeed } from '../src/adapters/sql/pg-change-feed.js';
import { createPgDatabase } from '../src/adapters/sql/pg-database.js';
import type { EventStore } from '../src/ports/event-store.js';

const event = () => ({ id: randomUUID(), type: 'Noted', data: { note: 'x'.repeat(200) }, metadata: { tenantId: 'bench' } });

async function appendsPerSecond(store: EventStore, writers: number, perWriter: number): Promise<number> {
  const run = randomUUID().slice(0, 8);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let revision: bigint | 'no_stream' = 'no_stream';
      for (let i = 0; i < perWriter; i++) {
        const result = await store.append(`notify-${run}w${w}`, [event()], { expectedRevision: revision });
        revision = result.nextExpectedRevision;
      }
    }),
  );
  return Math.round((writers * perWriter) / ((performance.now() - started) / 1000));
}

export async function benchNotify(databaseUrl: string, options: { appends: number }) {
  const db = createPgDatabase({ connectionString: databaseUrl, maxConnections: 24 });
  await migrateEventStore(db);
  const feed = await createPgChangeFeed({ connectionString: databaseUrl, db });
  const plain = createPostgresEventStore(db);
  const notifying = createPostgresEventStore(db, { changeFeed: feed });
  const figures: Record<string, number> = {};
  try {
    // Alternating, so that a drift of the machine's load weighs on both alike.
    for (let round = 0; round < 2; round++) {
      for (const [name, store] of [
        ['withoutNotify', plain],
        ['withNotify', notifying],
      ] as const) {
        const one = await appendsPerSecond(store, 1, options.appends);
        const sixteen = await appendsPerSecond(store, 16, Math.ceil(options.appends / 16));
        figures[`${name}OneWriterPerSecond`] = Math.max(figures[`${name}OneWriterPerSecond`] ?? 0, one);
        figures[`${name}SixteenWritersPerSecond`] = Math.max(figures[`${name}SixteenWritersPerSecond`] ?? 0, sixteen);
      }
    }
  } finally {
    await plain.close();
    await notifying.close();
    await feed.close();
    await db.close();
  }
  return figures;
}
