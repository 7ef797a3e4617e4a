// Positions survive a logical backup restored into another PostgreSQL cluster (#7.15). Two real clusters:
// the run's server, whose transaction counter is pushed well ahead, and a fresh one started here, whose
// counter is far behind the restored positions. pg_dump | psql, as README's "Backup and restore" says.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { START, comparePositions, type EventStore, type Position, type RecordedEvent } from '../../../src/ports/event-store.js';
import { startPostgres, type Service } from '../../support/local-services.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();
const binDir = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((dir) =>
  existsSync(join(dir, 'pg_dump')),
);
const event = (type: string) => ({ id: randomUUID(), type, data: { type }, metadata: { tenantId: 'restore' } });

async function withStore<T>(url: string, use: (store: EventStore) => Promise<T>): Promise<T> {
  const db = createPgDatabase({ connectionString: url });
  try {
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 10 });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  } finally {
    await db.close();
  }
}

async function readEverything(store: EventStore, after: Position = START): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (let page = await store.readAll({ after, maxCount: 4 }); ; page = await store.readAll({ after: page.lastPosition, maxCount: 4 })) {
    events.push(...page.events);
    if (page.isEnd) return events;
  }
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgres.url || !binDir)('PostgreSQL positions after pg_dump and a restore into another cluster', () => {
  let other: Service;
  beforeAll(async () => {
    other = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    if (other && 'stop' in other) await other.stop();
  });

  it('keeps every restored position, orders new appends after them, and a reader resuming from a restored checkpoint misses nothing', async () => {
    if (!('url' in other)) throw new Error(`second cluster: ${other.skipReason}`);
    const sourceUrl = await createTestDatabase(postgres.url!);
    // Push the source cluster's transaction counter far past a fresh cluster's.
    await sql(sourceUrl, 'DO $$ BEGIN FOR i IN 1..3000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$');
    const written = await withStore(sourceUrl, async (store) => {
      for (let i = 0; i < 5; i++)
        await store.append(`order-${i}`, [event(`Placed${i}`), event(`Paid${i}`)], { expectedRevision: 'no_stream' });
      return readEverything(store);
    });
    expect(written).toHaveLength(10);
    const checkpoint = written.at(-1)!.position; // where a projection of the source had got to

    const targetUrl = await createTestDatabase(other.url);
    const dump = execFileSync(join(binDir!, 'pg_dump'), ['--no-owner', '--dbname', sourceUrl], { maxBuffer: 64 << 20 });
    execFileSync(join(binDir!, 'psql'), ['-v', 'ON_ERROR_STOP=1', '-q', '--dbname', targetUrl], {
      input: dump,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    await withStore(targetUrl, async (store) => {
      const restored = await readEverything(store);
      expect(restored.map((e) => [e.id, e.position])).toEqual(written.map((e) => [e.id, e.position]));
      const appended = [
        await store.append('order-0', [event('Shipped0')], { expectedRevision: 1n }),
        await store.append('order-9', [event('Placed9'), event('Paid9')], { expectedRevision: 'no_stream' }),
      ];
      for (const { position } of appended) expect(comparePositions(position, checkpoint)).toBeGreaterThan(0);
      expect(comparePositions(appended[1]!.position, appended[0]!.position)).toBeGreaterThan(0);

      const all = await readEverything(store);
      expect(all.map((e) => e.type)).toEqual([...written.map((e) => e.type), 'Shipped0', 'Placed9', 'Paid9']);
      for (let i = 1; i < all.length; i++) expect(comparePositions(all[i]!.position, all[i - 1]!.position)).toBeGreaterThan(0);
      expect((await readEverything(store, checkpoint)).map((e) => e.type)).toEqual(['Shipped0', 'Placed9', 'Paid9']);
      expect(await store.headPosition()).toEqual(appended[1]!.position);
      expect((await store.readStream('order-0')).map((e) => e.type)).toEqual(['Placed0', 'Paid0', 'Shipped0']);

      // A live subscriber from the restored checkpoint gets the new events and then later ones.
      const seen: string[] = [];
      const subscription = store.subscribeToAll({
        after: checkpoint,
        onBatch: async (events) => void seen.push(...events.map((e) => e.type)),
      });
      try {
        await store.append('order-1', [event('Shipped1')], { expectedRevision: 1n });
        const deadline = Date.now() + 5000;
        while (seen.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(seen).toEqual(['Shipped0', 'Placed9', 'Paid9', 'Shipped1']);
      } finally {
        await subscription.stop();
      }
    });
    // A second start (migration again) leaves positions alone.
    await withStore(targetUrl, async (store) => expect((await readEverything(store)).map((e) => e.type).at(-1)).toBe('Shipped1'));
  }, 60_000);
});
