import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlJobQueue, enqueueInTransaction, type SqlJobQueue } from '../../../src/adapters/queue/sql-job-queue.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { jobQueueContract, sleep, until } from './job-queue.contract.js';

/** What only the SQL queue promises: durability across a crash, and enqueueing inside a caller's transaction. */
function sqlJobQueueSpec(name: string, openDatabase: () => Promise<SqlDatabase>) {
  describe(`SQL job queue: ${name}`, () => {
    let db: SqlDatabase;
    let queue: SqlJobQueue;
    let n = 0;
    const queueName = () => `sql${n++}`;
    beforeAll(async () => {
      db = await openDatabase();
      queue = createSqlJobQueue(db, { pollIntervalMs: 20, leaseMs: 60_000 });
      await queue.migrate();
      await queue.migrate(); // idempotent
    });
    afterAll(async () => {
      await queue?.close();
      await db?.close();
    });

    it('reclaims a job whose worker died mid-run (its lease ran out)', async () => {
      const q = queueName();
      await queue.enqueue(q, 'orphan', { n: 1 });
      // What a crashed process leaves behind: claimed, lease expired, never finished.
      await db.query(`UPDATE jobs SET state = 'active', attempt = 1, locked_until = now() - interval '1 second' WHERE queue = $1`, [q]);
      const seen: number[] = [];
      const stop = await queue.work(q, async (job) => void seen.push(job.attempt));
      try {
        await until(() => seen.length > 0, 5000);
        await until(async () => (await queue.counts(q)).completed === 1, 5000);
        expect(seen).toEqual([2]);
      } finally {
        await stop();
      }
    });

    // A poll of a minute: only the due time of the delayed job (or of the retry) can end the worker's wait in time.
    it(
      'runs a delayed job when it comes due, and a failed one after its backoff, with a poll of a minute',
      { timeout: 15_000 },
      async () => {
        const slow = createSqlJobQueue(db, { pollIntervalMs: 60_000 });
        const q = queueName();
        const attempts: number[] = [];
        const stop = await slow.work(q, async (job) => {
          attempts.push(job.attempt);
          if (job.attempt === 1) throw new Error('first attempt fails');
        });
        try {
          await sleep(100); // the worker has looked, found nothing and sleeps
          await slow.enqueue(q, 'later', {}, { delayMs: 300, attempts: 2 });
          await until(async () => (await slow.counts(q)).completed === 1, 8000);
          expect(attempts).toEqual([1, 2]);
        } finally {
          await stop();
          await slow.close();
        }
      },
    );

    it('an idle worker on an empty queue looks once and then waits for a wake or the poll (no busy loop)', async () => {
      let statements = 0;
      const counted: SqlDatabase = { ...db, query: (text, params) => (statements++, db.query(text, params)) };
      const slow = createSqlJobQueue(counted, { pollIntervalMs: 60_000 });
      const stop = await slow.work(queueName(), async () => undefined);
      try {
        await sleep(1000);
        // A claim, the once-a-second reap and the look for the next due job: a handful, not one per tick.
        expect(statements).toBeGreaterThan(0);
        expect(statements).toBeLessThanOrEqual(4);
      } finally {
        await stop();
      }
    });

    it('leaves a job alone while its lease is live', async () => {
      const q = queueName();
      await queue.enqueue(q, 'busy-elsewhere', {});
      await db.query(`UPDATE jobs SET state = 'active', attempt = 1, locked_until = now() + interval '1 minute' WHERE queue = $1`, [q]);
      let ran = false;
      const stop = await queue.work(q, async () => void (ran = true));
      await sleep(300);
      await stop();
      expect(ran).toBe(false);
      expect(await queue.counts(q)).toMatchObject({ active: 1 });
    });

    it('fails an orphaned job that had used its last attempt instead of reclaiming it forever', async () => {
      const q = queueName();
      await queue.enqueue(q, 'poison', {}, { attempts: 2 });
      await db.query(`UPDATE jobs SET state = 'active', attempt = 2, locked_until = now() - interval '1 second' WHERE queue = $1`, [q]);
      let ran = false;
      const stop = await queue.work(q, async () => void (ran = true));
      try {
        await until(async () => (await queue.counts(q)).failed === 1, 5000);
        expect(ran).toBe(false);
        const [row] = await db.query<{ last_error: string }>(`SELECT last_error FROM jobs WHERE queue = $1`, [q]);
        expect(row?.last_error).toMatch(/lease expired/);
      } finally {
        await stop();
      }
    });

    it('renews the lease of a long job, so a second worker does not run it too', async () => {
      const shortLease = createSqlJobQueue(db, { pollIntervalMs: 20, leaseMs: 150 });
      const q = queueName();
      let runs = 0;
      await shortLease.enqueue(q, 'long', {});
      const handler = async () => {
        runs++;
        await sleep(700);
      };
      const stopA = await shortLease.work(q, handler);
      const stopB = await shortLease.work(q, handler);
      try {
        await until(async () => (await shortLease.counts(q)).completed === 1, 5000);
        expect(runs).toBe(1);
      } finally {
        await stopA();
        await stopB();
      }
    });

    it('runs at most perGroup jobs of one group (a tenant) at once; the rest wait, and groups take turns', async () => {
      const q = queueName();
      for (const id of ['a1', 'a2', 'a3', 'a4']) await queue.enqueue(q, id, {}, { group: 'tenant-a' });
      await queue.enqueue(q, 'b1', {}, { group: 'tenant-b' });
      await queue.enqueue(q, 'b2', {}, { group: 'tenant-b' });
      const active = new Map<string, number>();
      let peak = 0;
      const started: string[] = [];
      const stop = await queue.work(
        q,
        async (job) => {
          const group = job.id[0]!;
          started.push(job.id);
          active.set(group, (active.get(group) ?? 0) + 1);
          peak = Math.max(peak, active.get(group)!);
          await sleep(60);
          active.set(group, active.get(group)! - 1);
        },
        { concurrency: 3, perGroup: 1 },
      );
      try {
        await until(async () => (await queue.counts(q)).completed === 6);
        expect(peak).toBe(1);
        expect(started.slice(0, 2).sort()).toEqual(['a1', 'b1']); // b1 is not behind every a job
        // Every job waited, none was refused.
        expect([...started].sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2']);
      } finally {
        await stop();
      }
    });

    it('gives the group that ran least recently the next turn (one worker, one tenant flooding it)', async () => {
      const q = queueName();
      for (const id of ['a1', 'a2', 'a3']) await queue.enqueue(q, id, {}, { group: 'flood' });
      await queue.enqueue(q, 'b1', {}, { group: 'quiet' });
      const started: string[] = [];
      const stop = await queue.work(q, async (job) => void started.push(job.id), { concurrency: 1, perGroup: 1 });
      try {
        await until(() => started.length === 4);
        expect(started.slice(0, 2)).toEqual(['a1', 'b1']);
      } finally {
        await stop();
      }
    });

    it('property: groups take turns, so no group waits behind the backlog of another (claim order is round by round)', async () => {
      await fc.assert(
        fc.asyncProperty(
          // The enqueue order: a sequence of group labels, e.g. a tenant that queued many jobs first.
          fc.array(fc.constantFrom('g0', 'g1', 'g2', 'g3'), { minLength: 1, maxLength: 24 }),
          async (groups) => {
            const q = queueName();
            for (const [i, group] of groups.entries()) await queue.enqueue(q, `${group}-${i}`, { group }, { group });
            const started: string[] = [];
            const stop = await queue.work(q, async (job) => void started.push(String(job.payload.group)), { perGroup: 1 });
            try {
              await until(() => started.length === groups.length);
            } finally {
              await stop();
            }
            const total = (group: string) => groups.filter((g) => g === group).length;
            const ran = new Map<string, number>();
            for (const group of started) {
              // The group that starts has run no more often than any group that still has a job waiting.
              for (const other of new Set(groups))
                if ((ran.get(other) ?? 0) < total(other)) expect(ran.get(group) ?? 0).toBeLessThanOrEqual(ran.get(other) ?? 0);
              ran.set(group, (ran.get(group) ?? 0) + 1);
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it('records the last error of a failed job', async () => {
      const q = queueName();
      await queue.enqueue(q, 'broken', {}, { attempts: 1 });
      const stop = await queue.work(q, async () => {
        throw new Error('disk on fire');
      });
      try {
        await until(async () => (await queue.counts(q)).failed === 1);
        const [row] = await db.query<{ last_error: string; attempt: number }>(`SELECT last_error, attempt FROM jobs WHERE queue = $1`, [q]);
        expect(row?.last_error).toMatch(/disk on fire/);
        expect(row?.attempt).toBe(1);
      } finally {
        await stop();
      }
    });

    it('enqueueInTransaction records the job only if the transaction commits', async () => {
      const q = queueName();
      await expect(
        db.transaction(async (tx) => {
          await enqueueInTransaction(tx, q, 'rolled-back', {});
          throw new Error('checkpoint failed');
        }),
      ).rejects.toThrow('checkpoint failed');
      await db.transaction((tx) => enqueueInTransaction(tx, q, 'committed', { ok: true }));
      await db.transaction((tx) => enqueueInTransaction(tx, q, 'committed', { ok: false })); // duplicate: no-op
      const seen: unknown[] = [];
      const stop = await queue.work(q, async (job) => void seen.push([job.id, job.payload]));
      try {
        await until(() => seen.length > 0);
        await sleep(200);
        expect(seen).toEqual([['committed', { ok: true }]]);
      } finally {
        await stop();
      }
    });

    it('enqueue with a Kysely transaction records the job only if it commits', async () => {
      const q = queueName();
      await expect(
        db.kysely.transaction().execute(async (trx) => {
          await queue.enqueue(q, 'rolled-back', {}, { transaction: trx });
          await sql`SELECT 1`.execute(trx);
          throw new Error('checkpoint failed');
        }),
      ).rejects.toThrow('checkpoint failed');
      await db.kysely.transaction().execute((trx) => queue.enqueue(q, 'committed', { n: 2 }, { transaction: trx }));
      const rows = await db.query<{ job_id: string; payload: unknown }>(`SELECT job_id, payload FROM jobs WHERE queue = $1`, [q]);
      expect(rows).toEqual([{ job_id: 'committed', payload: { n: 2 } }]);
    });
  });
}

const openPglite = () => createPgliteDatabase();

jobQueueContract('SQL on PGlite', async () => {
  const db = await openPglite();
  const queue = createSqlJobQueue(db, { pollIntervalMs: 20 });
  await queue.migrate();
  return { queue, cleanup: async () => (await queue.close(), await db.close()) };
});
sqlJobQueueSpec('PGlite', openPglite);

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] SQL job queue on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('PostgreSQL', () => {
  const openPostgres = async () => createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) });
  jobQueueContract('SQL on PostgreSQL', async () => {
    const db = await openPostgres();
    const queue = createSqlJobQueue(db, { pollIntervalMs: 20 });
    await queue.migrate();
    return { queue, cleanup: async () => (await queue.close(), await db.close()) };
  });
  sqlJobQueueSpec('PostgreSQL', openPostgres);
});
