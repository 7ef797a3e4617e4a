// Projection rebuild: seed N events straight into the event store's tables, then time a rebuild of a
// small read model (event counts per tenant and type) from zero, sampling RSS on the way.
import { sql, type Kysely } from 'kysely';
import type { SqlDatabase } from '../src/ports/sql-database.js';
import type { EventStore } from '../src/ports/event-store.js';
import { createProjectionEngine } from '../src/projections/projection-engine.js';
import type { Projector } from '../src/projections/projector.js';

const countsByType: Projector = {
  name: 'bench_counts',
  filter: { categories: ['benchseed'] },
  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('counts')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('n', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('counts_pk', ['tenant_id', 'event_type'])
      .execute();
  },
  async apply(db, events) {
    // Set-based: one upsert per batch, aggregated in memory.
    const totals = new Map<string, { tenant_id: string; event_type: string; n: number }>();
    for (const event of events) {
      const key = `${String(event.metadata.tenantId)}\u0000${event.type}`;
      const entry = totals.get(key) ?? { tenant_id: String(event.metadata.tenantId), event_type: event.type, n: 0 };
      entry.n++;
      totals.set(key, entry);
    }
    await (db as Kysely<{ counts: { tenant_id: string; event_type: string; n: number } }>)
      .insertInto('counts')
      .values([...totals.values()])
      .onConflict((oc) => oc.columns(['tenant_id', 'event_type']).doUpdateSet({ n: sql`counts.n + excluded.n` }))
      .execute();
  },
};

export async function seedEvents(db: SqlDatabase, events: number): Promise<void> {
  // 1,000 streams of events/1000 events each, written in chunks so no transaction grows without bound.
  const streams = 1000;
  const perStream = Math.ceil(events / streams);
  const chunk = 100;
  for (let first = 0; first < streams; first += chunk) {
    await db.query(
      `INSERT INTO es_events (stream_id, stream_revision, event_id, event_type, data, metadata)
       SELECT 'benchseed-' || s, r, gen_random_uuid(), (ARRAY['TemplateCreated','TemplateUpdated','TemplateTagAdded'])[1 + (r % 3)],
              jsonb_build_object('templateId', s, 'version', r, 'name', 'Template ' || s, 'defaultDuration', 90),
              jsonb_build_object('tenantId', 'tenant-' || (s % 50), 'userId', 'u', 'schemaVersion', 1)
         FROM generate_series($1::int, $2::int) s, generate_series(0, $3::int - 1) r`,
      [first, Math.min(streams, first + chunk) - 1, perStream],
    );
  }
  await db.query(
    `INSERT INTO es_streams (stream_id, last_revision) SELECT 'benchseed-' || s, $2::int - 1 FROM generate_series(0, $1::int - 1) s ON CONFLICT DO NOTHING`,
    [streams, perStream],
  );
  await db.query('ANALYZE es_events');
}

export async function benchProjectionRebuild(
  db: SqlDatabase,
  store: EventStore,
  options: { events: number; batchSize?: number },
): Promise<Record<string, number>> {
  let started = performance.now();
  await seedEvents(db, options.events);
  const seedSeconds = (performance.now() - started) / 1000;

  // RSS and heap are sampled on a timer and after every batch: PGlite runs in this thread and can keep
  // the timer from firing for a whole rebuild.
  const samples: { rss: number; heap: number }[] = [];
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ rss, heap: heapUsed });
  };
  const sampled: Projector = {
    ...countsByType,
    async apply(db, events) {
      await countsByType.apply(db, events);
      sample();
    },
  };
  const engine = createProjectionEngine({ db, eventStore: store, projectors: [sampled], batchSize: options.batchSize ?? 5000 });
  await engine.start();
  await engine.stop(); // the live runner is not part of the measurement; rebuild replays from zero
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  global.gc?.();
  const startRss = process.memoryUsage().rss;
  const startHeap = process.memoryUsage().heapUsed;
  samples.length = 0;
  const sampler = setInterval(sample, 100);
  started = performance.now();
  await engine.rebuild(countsByType.name);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  // With --expose-gc (npm run bench sets it): the heap after a full collection shows whether the rebuild
  // retained anything, as opposed to garbage not yet collected.
  global.gc?.();
  const heapAfterGc = process.memoryUsage().heapUsed;
  const [row] = await db.query<{ total: string }>('SELECT sum(n)::text AS total FROM rm_bench_counts.counts');
  const projected = Number(row?.total ?? 0);
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const peakRss = Math.max(startRss, ...samples.map((s) => s.rss));
  return {
    seededEvents: projected,
    seedSeconds: Number(seedSeconds.toFixed(1)),
    rebuildSeconds: Number(seconds.toFixed(2)),
    rebuildEventsPerSecond: Math.round(projected / seconds),
    startRssMb: mb(startRss),
    peakRssMb: mb(peakRss),
    // Flat memory: the last quarter of the run uses no more than the first quarter (plus noise).
    memorySamples: samples.length,
    rssFirstQuarterMb: mb(avg(samples.slice(0, quarter).map((s) => s.rss))),
    rssLastQuarterMb: mb(avg(samples.slice(-quarter).map((s) => s.rss))),
    heapFirstQuarterMb: mb(avg(samples.slice(0, quarter).map((s) => s.heap))),
    heapLastQuarterMb: mb(avg(samples.slice(-quarter).map((s) => s.heap))),
    heapBeforeMb: mb(startHeap),
    heapAfterGcMb: mb(heapAfterGc),
  };
}
