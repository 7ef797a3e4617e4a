// The audit reader against real stores (PGlite, and PostgreSQL when available): any filter, read page by
// page through the cursors, yields exactly the filtered log in order, whatever the page size and scan
// budget; the NDJSON generator yields the same; the position range bounds both. Plus the projection
// replay from a position (blue/green rebuild of only the events after it) with its progress counters.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import { matchesAuditFilter, type AuditFilter } from '../../../src/domain/audit/index.js';
import { comparePositions, type EventStore, type RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { auditEvents, readAuditPage, type AuditRange } from '../../../src/projections/audit/audit-log.js';
import { createProjectionEngine } from '../../../src/projections/projection-engine.js';
import { PartialReplayError, liveSchema } from '../../../src/projections/projector.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { countingProjector } from '../fixtures/counting-projector.js';

const TENANTS = ['acme', 'globex'];
const CATEGORIES = ['auda', 'audb', 'audc'];
const USERS = ['ann', 'bob', 'cid'];
const TYPES = ['Created', 'Changed', 'Archived'];

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function suite(label: string, open: () => Promise<SqlDatabase>) {
  describe(label, () => {
    let db: SqlDatabase;
    let store: EventStore;
    let log: RecordedEvent[];
    const run = randomUUID().slice(0, 6);

    beforeAll(async () => {
      db = await open();
      await migrateEventStore(db);
      store = createPostgresEventStore(db, { pollIntervalMs: 20 });
      // 24 streams × 12 events, with tenants, users, correlations and times spread over them.
      const start = Date.parse('2026-01-01T00:00:00Z');
      let n = 0;
      for (let s = 0; s < 24; s++) {
        const streamId = `${CATEGORIES[s % 3]}-${run}${s}`;
        for (let batch = 0; batch < 3; batch++) {
          const events = Array.from({ length: 4 }, () => {
            n++;
            return {
              id: randomUUID(),
              type: TYPES[n % 3]!,
              data: { n },
              metadata: {
                tenantId: TENANTS[s % 2]!,
                userId: USERS[n % 3]!,
                correlationId: `c${n % 5}`,
                causationId: `k${n % 7}`,
                occurredAt: new Date(start + n * 60_000).toISOString(),
              },
            };
          });
          await store.append(streamId, events, { expectedRevision: 'any' });
        }
      }
      // Only this run's events: the PostgreSQL database is fresh; PGlite too.
      log = (await store.readAll({ maxCount: 10_000 })).events;
      expect(log).toHaveLength(288);
    });
    afterAll(async () => db?.close());

    const filterArb: fc.Arbitrary<AuditFilter> = fc.record(
      {
        tenantId: fc.constantFrom(...TENANTS),
        streamId: fc.integer({ min: 0, max: 25 }).map((s) => `${CATEGORIES[s % 3]}-${run}${s}`),
        categories: fc.subarray(CATEGORIES, { minLength: 1 }),
        eventTypes: fc.subarray(TYPES, { minLength: 1 }),
        userId: fc.constantFrom(...USERS),
        correlationId: fc.constantFrom('c0', 'c1', 'c4', 'none'),
        occurredFrom: fc.integer({ min: 0, max: 300 }).map((m) => new Date(Date.parse('2026-01-01T00:00:00Z') + m * 60_000)),
      },
      { requiredKeys: [] },
    );

    it('pages through the cursors yield exactly the filtered log, for any filter, page size and scan budget', async () => {
      await fc.assert(
        fc.asyncProperty(
          filterArb,
          fc.integer({ min: 1, max: 60 }),
          fc.integer({ min: 1, max: 400 }),
          fc.option(fc.tuple(fc.nat(287), fc.nat(287)), { nil: undefined }),
          async (filter, limit, scanBudget, bounds) => {
            const range: AuditRange = bounds ? { after: log[Math.min(...bounds)]!.position, upTo: log[Math.max(...bounds)]!.position } : {};
            const expected = log
              .filter((event) => !range.after || comparePositions(event.position, range.after) > 0)
              .filter((event) => !range.upTo || comparePositions(event.position, range.upTo) <= 0)
              .filter((event) => matchesAuditFilter(event, filter))
              .map((event) => event.id);
            const paged: string[] = [];
            let cursor = range.after;
            for (let pages = 0; ; pages++) {
              expect(pages).toBeLessThan(400);
              const page = await readAuditPage(store, filter, { ...range, ...(cursor ? { after: cursor } : {}) }, { limit, scanBudget });
              expect(page.events.length).toBeLessThanOrEqual(limit);
              paged.push(...page.events.map((event) => event.id));
              if (!page.next) break;
              cursor = page.next;
            }
            expect(paged).toEqual(expected);
            expect((await collect(auditEvents(store, filter, range))).map((event) => event.id)).toEqual(expected);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('carries the metadata: another tenant never appears under a tenant filter', async () => {
      const acme = await collect(auditEvents(store, { tenantId: 'acme' }));
      expect(acme).toHaveLength(144);
      expect(new Set(acme.map((event) => event.metadata.tenantId))).toEqual(new Set(['acme']));
      expect(await collect(auditEvents(store, { tenantId: 'globex', streamId: `auda-${run}0` }))).toEqual([]);
    });

    it('replays a projection into fresh tables with progress, and refuses a replay from a position (#15.11)', async () => {
      const projector = countingProjector(`replay_${run}`);
      const engine = createProjectionEngine({ db, eventStore: store, projectors: [projector], batchSize: 50 });
      const stream = `counted-${run}`;
      const first = await store.append(
        stream,
        Array.from({ length: 30 }, () => ({ id: randomUUID(), type: 'Counted', data: {}, metadata: { tenantId: 'acme' } })),
        { expectedRevision: 'no_stream' },
      );
      const second = await store.append(
        stream,
        Array.from({ length: 20 }, () => ({ id: randomUUID(), type: 'Counted', data: {}, metadata: { tenantId: 'acme' } })),
        { expectedRevision: first.nextExpectedRevision },
      );
      await engine.start();
      try {
        await engine.waitFor(second.position, { timeoutMs: 15_000 });
        const count = async () =>
          Number(
            (await db.query<{ n: number }>(`SELECT n FROM ${liveSchema(projector.name)}.counts WHERE stream_id = $1`, [stream]))[0]!.n,
          );
        expect(await count()).toBe(50);
        expect(engine.rebuildProgress(projector.name)).toBeUndefined();
        // Fresh tables hold nothing before `from`: refused before anything is touched, the live rows stay.
        await expect(engine.rebuild(projector.name, { from: first.position })).rejects.toBeInstanceOf(PartialReplayError);
        expect(engine.rebuildProgress(projector.name)).toBeUndefined();
        expect(await count()).toBe(50);
        await engine.rebuild(projector.name);
        expect(await count()).toBe(50);
        expect(engine.rebuildProgress(projector.name)).toMatchObject({ state: 'swapped', eventsReplayed: 50 });
      } finally {
        await engine.stop();
      }
    });
  });
}

suite('audit log reader on PGlite', () => createPgliteDatabase({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] audit log reader on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  suite('audit log reader on PostgreSQL', async () => createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) }));
});
