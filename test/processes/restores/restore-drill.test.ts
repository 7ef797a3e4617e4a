// Restore drills on real PostgreSQL (the scratch store is a database of its own on the same server): a
// faithful backup passes even though the live log has moved on; an altered chunk fails the drill; a backup
// whose content differs (valid checksums, one event changed) fails it naming the table and the tenant.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchStores } from '../../../src/adapters/event-store/scratch-store.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { START, type EventStore, type RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { runRestoreDrill, type RestoreDrillDeps } from '../../../src/processes/restores/restore-drill.js';
import { batchProjector } from '../../../src/projections/batches/batch-projector.js';
import { categoryProjector } from '../../../src/projections/categories/category-projector.js';
import { templateProjector } from '../../../src/projections/templates/template-projector.js';
import { alterChunk, directoryStorage, writeFixtureBackup } from '../../support/backup-fixtures.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (
    let page = await store.readAll({ after: START, maxCount: 500 });
    ;
    page = await store.readAll({ after: page.lastPosition, maxCount: 500 })
  ) {
    events.push(...page.events);
    if (page.isEnd) return events;
  }
}

// Other suites run drills on the same server at the same time: each drill here has a name of its own, and
// the test looks only at the scratch database it made.
const drillName = (label: string) => `${label}_${randomUUID().replaceAll('-', '')}`;

describe.skipIf(!postgres.url)('restore drill', () => {
  const root = mkdtempSync(join(tmpdir(), 'kyo-drill-'));
  const storage = directoryStorage(root);
  let db: SqlDatabase;
  let store: EventStore;
  let deps: RestoreDrillDeps;
  let backedUp: RecordedEvent[];
  const create = (tenantId: string, name: string) => {
    const categoryId = randomUUID();
    return store.append(
      `category-${categoryId}`,
      [
        {
          id: randomUUID(),
          type: 'CategoryCreated',
          data: { categoryId, name, description: `${name}!` },
          metadata: { tenantId, userId: 'u1', occurredAt: '2026-11-26T10:00:00.000Z' },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
  };
  beforeAll(async () => {
    const url = await createTestDatabase(postgres.url!);
    db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    store = createPostgresEventStore(db);
    for (let i = 0; i < 30; i++) await create(i % 3 === 0 ? 'acme' : 'globex', `cat ${i}`);
    backedUp = await readEverything(store);
    await writeFixtureBackup(storage, { backupId: 'good', events: backedUp, eventsPerChunk: 8 });
    // The live log moves on after the backup: the drill must compare as of the backup's position.
    for (let i = 0; i < 5; i++) await create('acme', `later ${i}`);
    deps = {
      storage,
      eventStore: store,
      projectors: [categoryProjector, templateProjector(), batchProjector],
      scratchStores: createScratchStores(db, url),
    };
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('passes for a faithful backup although the live log is ahead, and drops its scratch database', async () => {
    // Another suite's drill in flight on the same server: its scratch database is not this test's business.
    const other = await deps.scratchStores(drillName('other'));
    const name = drillName('d1');
    const made: string[] = [];
    const scratchStores = deps.scratchStores;
    const outcome = await runRestoreDrill(
      {
        ...deps,
        scratchStores: async (n) => {
          const scratch = await scratchStores(n);
          made.push(scratch.target.description);
          return scratch;
        },
      },
      'good',
      name,
    );
    expect(outcome).toMatchObject({ passed: true, events: 30, differences: [], position: backedUp.at(-1)!.position });
    expect(outcome.tables).toBeGreaterThanOrEqual(2); // categories per tenant at least
    expect(made).toEqual([`kyo_drill_${name}`]);
    const left = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [made[0]]);
    expect(left[0]!.n).toBe(0);
    const untouched = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [
      other.target.description,
    ]);
    expect(untouched[0]!.n).toBe(1);
    await other.drop();
  });

  it('fails when a chunk was altered', async () => {
    await writeFixtureBackup(storage, { backupId: 'altered', events: backedUp, eventsPerChunk: 8 });
    await alterChunk(root, 'altered', 'database-000002.ndjson.gz');
    const outcome = await runRestoreDrill(deps, 'altered', drillName('d2'));
    expect(outcome.passed).toBe(false);
    expect(outcome.reason).toMatch(/restore failed: chunk database-000002.ndjson.gz: sha256/);
  });

  it('fails naming the table and tenant when the backup holds a different event (checksums valid)', async () => {
    const changed = backedUp.map((e, i) => (i === 4 ? { ...e, data: { ...e.data, name: 'tampered' } } : e));
    await writeFixtureBackup(storage, { backupId: 'changed', events: changed, eventsPerChunk: 8 });
    const outcome = await runRestoreDrill(deps, 'changed', drillName('d3'));
    const tenant = String(backedUp[4]!.metadata.tenantId);
    expect(outcome.passed).toBe(false);
    expect(outcome.differences).toEqual([
      expect.objectContaining({
        table: 'categories.categories',
        tenantId: tenant,
        live: expect.objectContaining({ rows: tenant === 'acme' ? 10 : 20 }),
      }),
    ]);
    expect(outcome.differences[0]!.live.checksum).not.toBe(outcome.differences[0]!.restored.checksum);
  });

  it('fails when the backup lost an event', async () => {
    await writeFixtureBackup(storage, { backupId: 'lossy', events: backedUp.filter((_, i) => i !== 7), eventsPerChunk: 8 });
    const outcome = await runRestoreDrill(deps, 'lossy', drillName('d4'));
    expect(outcome.passed).toBe(false);
    expect(outcome.differences[0]).toMatchObject({ table: 'categories.categories', tenantId: String(backedUp[7]!.metadata.tenantId) });
    expect(outcome.differences[0]!.live.rows - outcome.differences[0]!.restored.rows).toBe(1);
  });
});
