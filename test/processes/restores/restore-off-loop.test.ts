// Restores and drills never hold the event loop (#15 item 4). On the embedded default the service's own
// PGlite runs on the main thread, and so did a drill's scratch PGlite and a restore's new data directory:
// their start (WebAssembly compile, initdb) and every statement of the load froze every tenant's requests
// for seconds. The side databases now run in a worker thread: the test checks where the scratch store's
// engine runs, and that the longest stall of the event loop during a drill or a restore of a small backup
// stays under one second (a correctness bound, "does not block", not a speed figure: the old code stalled
// for well over that on its own).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createScratchStores } from '../../../src/adapters/event-store/scratch-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { WorkerSqlDatabase } from '../../../src/adapters/sql/pglite-worker-database.js';
import { chunksDecodedInWorker } from '../../../src/commands/backups/chunk-decoder.js';
import { restoreBackup } from '../../../src/commands/restores/restore-backup.js';
import { openRestoreTarget } from '../../../src/features/restore-targets.js';
import { START, type EventStore, type RecordedEvent } from '../../../src/ports/event-store.js';
import type { ScratchStore } from '../../../src/ports/scratch-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { runRestoreDrill } from '../../../src/processes/restores/restore-drill.js';
import { batchProjector } from '../../../src/projections/batches/batch-projector.js';
import { categoryProjector } from '../../../src/projections/categories/category-projector.js';
import { templateProjector } from '../../../src/projections/templates/template-projector.js';
import { directoryStorage, writeFixtureBackup } from '../../support/backup-fixtures.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();
const MAX_STALL_MS = 1000;

/** The longest time the event loop could not run a timer while `work` ran, in milliseconds. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    return { result, stallMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const page = await store.readAll({ after: START, maxCount: 1000 });
  return [...page.events];
}

const stores = [
  { name: 'PGlite', url: async () => undefined as string | undefined },
  { name: 'PostgreSQL', url: async () => (postgres.url ? createTestDatabase(postgres.url) : undefined), skip: !postgres.url },
];

describe.each(stores)('restores and drills off the event loop ($name)', ({ name, url: makeUrl, skip }) => {
  const root = mkdtempSync(join(tmpdir(), 'kyo-offloop-'));
  const storage = directoryStorage(root);
  let url: string | undefined;
  let db: SqlDatabase;
  let store: EventStore;
  let backedUp: RecordedEvent[];

  beforeAll(async () => {
    if (skip) return;
    url = await makeUrl();
    db = url ? createPgDatabase({ connectionString: url }) : await createPgliteDatabase({ maintenance: false });
    await migrateEventStore(db);
    store = createPostgresEventStore(db);
    for (let i = 0; i < 13; i++) {
      const categoryId = randomUUID();
      await store.append(
        `category-${categoryId}`,
        [
          {
            id: randomUUID(),
            type: 'CategoryCreated',
            data: { categoryId, name: `cat ${i}`, description: `number ${i}` },
            metadata: { tenantId: i % 2 ? 'acme' : 'globex', userId: 'u1', occurredAt: '2026-12-07T10:00:00.000Z' },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
    }
    backedUp = await readEverything(store);
    await writeFixtureBackup(storage, { backupId: 'thirteen', events: backedUp, eventsPerChunk: 5 });
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(skip)('a drill passes without a stall of a second, its scratch PGlite on a worker thread', async () => {
    const made: ScratchStore[] = [];
    const scratchStores = createScratchStores(db, url);
    const { result: outcome, stallMs } = await longestStall(() =>
      runRestoreDrill(
        {
          storage,
          eventStore: store,
          projectors: [categoryProjector, templateProjector(), batchProjector],
          scratchStores: async (drill) => {
            const scratch = await scratchStores(drill);
            made.push(scratch);
            return scratch;
          },
        },
        'thirteen',
        `offloop_${randomUUID().replaceAll('-', '')}`,
      ),
    );
    expect(outcome).toMatchObject({ passed: true, events: 13, differences: [] });
    expect(made).toHaveLength(1);
    if (name === 'PGlite') {
      const engine = (made[0]!.db as Partial<WorkerSqlDatabase>).threadId;
      expect(engine).toBeGreaterThan(0);
      expect(engine).not.toBe(threadId);
    }
    expect(stallMs).toBeLessThan(MAX_STALL_MS);
  });

  it.skipIf(skip || name !== 'PGlite')('a restore into a new data directory loads it without a stall of a second', async () => {
    const directory = join(root, `restored-${randomUUID()}`);
    const { result, stallMs } = await longestStall(async () => {
      const target = await openRestoreTarget(
        { DATABASE_URL: undefined, DATABASE_CONNECT_TIMEOUT_MS: 5000 },
        { kind: 'directory', path: directory },
      );
      try {
        return await restoreBackup({ storage, clock: () => new Date() }, target, { restoreId: randomUUID(), backupId: 'thirteen' });
      } finally {
        await target.close();
      }
    });
    expect(result).toMatchObject({ events: 13, streams: 13, lastPosition: backedUp.at(-1)!.position });
    expect(stallMs).toBeLessThan(MAX_STALL_MS);
    // What the worker wrote is a data directory the service opens as it would any other.
    const restored = await createPgliteDatabase({ dataDir: join(directory, 'pglite'), maintenance: false });
    try {
      const restoredStore = createPostgresEventStore(restored);
      const events = await readEverything(restoredStore);
      await restoredStore.close();
      expect(events.map((e) => [e.id, e.position])).toEqual(backedUp.map((e) => [e.id, e.position]));
    } finally {
      await restored.close();
    }
  });
});

describe('a restore of a few thousand events decodes its chunks in a worker thread', () => {
  const root = mkdtempSync(join(tmpdir(), 'kyo-offloop-chunks-'));
  const storage = directoryStorage(root);
  let db: SqlDatabase;
  let store: EventStore;
  const EVENTS = 3000;

  beforeAll(async () => {
    db = await createPgliteDatabase({ maintenance: false });
    await migrateEventStore(db);
    store = createPostgresEventStore(db);
    for (let stream = 0; stream < EVENTS / 100; stream++) {
      const categoryId = randomUUID();
      await store.append(
        `category-${categoryId}`,
        Array.from({ length: 100 }, (_, i) => ({
          id: randomUUID(),
          type: i === 0 ? 'CategoryCreated' : 'CategoryDescribed',
          data: { categoryId, name: `cat ${stream}`, description: `revision ${i} ${'x'.repeat(200)}` },
          metadata: { tenantId: 'acme', userId: 'u1', occurredAt: '2026-12-07T10:00:00.000Z' },
        })),
        { expectedRevision: 'no_stream' },
      );
    }
    const events: RecordedEvent[] = [];
    for (let after = START; ;) {
      const page = await store.readAll({ after, maxCount: 1000 });
      events.push(...page.events);
      if (page.isEnd) break;
      after = page.lastPosition;
    }
    expect(events).toHaveLength(EVENTS);
    await writeFixtureBackup(storage, { backupId: 'three-thousand', events, eventsPerChunk: 500 });
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('every chunk is decrypted, gunzipped and parsed by the decoder thread, none on the event loop', async () => {
    const before = chunksDecodedInWorker();
    const target = await openRestoreTarget(
      { DATABASE_URL: undefined, DATABASE_CONNECT_TIMEOUT_MS: 5000 },
      { kind: 'directory', path: join(root, 'restored') },
    );
    try {
      const { result, stallMs } = await longestStall(() =>
        restoreBackup({ storage, clock: () => new Date() }, target, { restoreId: randomUUID(), backupId: 'three-thousand' }),
      );
      expect(result).toMatchObject({ events: EVENTS, streams: EVENTS / 100 });
      // Where the work ran, not how fast: the six chunks went through the worker (decodeChunk on the main
      // thread is no longer on a restore's path).
      expect(chunksDecodedInWorker() - before).toBe(EVENTS / 500);
      expect(stallMs).toBeLessThan(MAX_STALL_MS);
    } finally {
      await target.close();
    }
  });
});
