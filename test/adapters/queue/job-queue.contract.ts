// One specification of the job queue port, run against the SQL queue (PGlite, PostgreSQL) and BullMQ.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DELAY_MS, createJobSlots, type Job, type JobQueue } from '../../../src/ports/job-queue.js';

export const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function jobQueueContract(name: string, open: () => Promise<{ queue: JobQueue; cleanup(): Promise<void> }>) {
  describe(`job queue contract: ${name}`, () => {
    let queue: JobQueue;
    let cleanup: () => Promise<void>;
    const queueName = () => `q${randomUUID().slice(0, 8)}`;
    beforeAll(async () => ({ queue, cleanup } = await open()));
    afterAll(async () => cleanup?.());

    it('runs a job once with its payload, and a duplicate enqueue is a no-op', async () => {
      const q = queueName();
      const seen: Job[] = [];
      await queue.enqueue(q, 'job-1', { hello: 'world', nested: { n: [1, 2] } });
      await queue.enqueue(q, 'job-1', { hello: 'again' });
      const stop = await queue.work(q, async (job) => void seen.push(job));
      try {
        await until(() => seen.length >= 1);
        await sleep(300);
        expect(seen).toEqual([{ id: 'job-1', queue: q, payload: { hello: 'world', nested: { n: [1, 2] } }, attempt: 1 }]);
        await until(async () => (await queue.counts(q)).completed === 1);
        // Enqueued again after it completed: still the same job, it does not run again.
        await queue.enqueue(q, 'job-1', { hello: 'late' });
        await sleep(300);
        expect(seen).toHaveLength(1);
      } finally {
        await stop();
      }
    });

    it('keeps ids that a backend cannot store as they are (colons, integers) and dedupes them', async () => {
      const q = queueName();
      const seen: string[] = [];
      for (const id of ['pm:event:1', 'pm:event:1', 'pm:event:2', '42', '42']) await queue.enqueue(q, id, {});
      const stop = await queue.work(q, async (job) => void seen.push(job.id), { concurrency: 2 });
      try {
        await until(() => seen.length >= 3);
        await sleep(300);
        expect(seen.sort()).toEqual(['42', 'pm:event:1', 'pm:event:2']);
      } finally {
        await stop();
      }
    });

    it('retries a failing job with the attempt number incremented, until it succeeds', async () => {
      const q = queueName();
      const attempts: number[] = [];
      await queue.enqueue(q, 'flaky-then-fine', { x: 1 }, { attempts: 3 });
      const stop = await queue.work(q, async (job) => {
        attempts.push(job.attempt);
        expect(job.payload).toEqual({ x: 1 });
        if (job.attempt < 2) throw new Error('transient');
      });
      try {
        await until(async () => (await queue.counts(q)).completed === 1);
        expect(attempts).toEqual([1, 2]);
        expect(await queue.counts(q)).toMatchObject({ failed: 0, active: 0, waiting: 0, delayed: 0 });
      } finally {
        await stop();
      }
    });

    it('marks a job failed when its attempts run out', async () => {
      const q = queueName();
      const attempts: number[] = [];
      await queue.enqueue(q, 'doomed', {}, { attempts: 2 });
      const stop = await queue.work(q, async (job) => {
        attempts.push(job.attempt);
        throw new Error('boom');
      });
      try {
        await until(async () => (await queue.counts(q)).failed === 1);
        await sleep(200);
        expect(attempts).toEqual([1, 2]);
        expect(await queue.counts(q)).toMatchObject({ failed: 1, completed: 0, waiting: 0, delayed: 0, active: 0 });
      } finally {
        await stop();
      }
    });

    it('delays a job, and counts it as delayed meanwhile', async () => {
      const q = queueName();
      let ranAt = 0;
      const enqueuedAt = Date.now();
      await queue.enqueue(q, 'later', {}, { delayMs: 700 });
      expect(await queue.counts(q)).toMatchObject({ delayed: 1, waiting: 0 });
      const stop = await queue.work(q, async () => void (ranAt = Date.now()));
      try {
        await until(() => ranAt > 0);
        expect(ranAt - enqueuedAt).toBeGreaterThanOrEqual(650);
      } finally {
        await stop();
      }
    });

    it('property: a delay past 24.85 days (2^31 ms) up to ten years is held as 64-bit time while the other jobs run', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2 ** 31, max: MAX_DELAY_MS }), async (delayMs) => {
          const q = queueName();
          await queue.enqueue(q, 'far-ahead', {}, { delayMs });
          await queue.enqueue(q, 'now', {});
          const ran: string[] = [];
          const stop = await queue.work(q, async (job) => void ran.push(job.id));
          try {
            await until(() => ran.length === 1);
            await sleep(100);
            expect(ran).toEqual(['now']);
            expect(await queue.counts(q)).toMatchObject({ delayed: 1, completed: 1, failed: 0 });
          } finally {
            await stop();
          }
        }),
        { numRuns: 4, examples: [[2_591_998_232], [MAX_DELAY_MS]] },
      );
    });

    it('refuses a delay beyond the ten-year maximum (or not a number) and records nothing', async () => {
      const q = queueName();
      for (const delayMs of [MAX_DELAY_MS + 1, Date.parse('9999-12-31T00:00:00Z'), Number.NaN, Number.POSITIVE_INFINITY])
        await expect(queue.enqueue(q, `bad-${delayMs}`, {}, { delayMs })).rejects.toBeInstanceOf(RangeError);
      expect(await queue.counts(q)).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
    });

    it('parks a job whose attempts ran out (the others go on), lists it, and an operator retry runs it again', async () => {
      const q = queueName();
      let healed = false;
      const ran: string[] = [];
      await queue.enqueue(q, 'poison', { p: 1 }, { attempts: 2 });
      await queue.enqueue(q, 'fine', {});
      const stop = await queue.work(q, async (job) => {
        ran.push(`${job.id}#${job.attempt}`);
        if (job.id === 'poison' && !healed) throw new Error('poisoned payload');
      });
      try {
        await until(async () => (await queue.counts(q)).failed === 1 && (await queue.counts(q)).completed === 1);
        const parked = await queue.parked(q);
        expect(parked).toEqual([
          {
            queue: q,
            id: 'poison',
            payload: { p: 1 },
            attempts: 2,
            lastError: expect.stringMatching(/poisoned payload/),
            parkedAt: expect.any(String),
          },
        ]);
        expect(await queue.retryParked(q, 'fine')).toBe(false); // completed, not parked
        expect(await queue.retryParked(q, 'no-such-job')).toBe(false);
        healed = true;
        expect(await queue.retryParked(q, 'poison')).toBe(true);
        await until(async () => (await queue.counts(q)).completed === 2);
        expect(ran.filter((r) => r.startsWith('poison'))).toEqual(['poison#1', 'poison#2', 'poison#1']);
        expect(await queue.parked(q)).toEqual([]);
      } finally {
        await stop();
      }
    });

    it('runs waiting jobs by priority: none first, then 1, 2 … (BullMQ order), equal ones in enqueue order', async () => {
      const q = queueName();
      const given: [string, number | undefined][] = [
        ['p5', 5],
        ['p1', 1],
        ['p10', 10],
        ['none', undefined],
        ['p3a', 3],
        ['p3b', 3],
      ];
      for (const [id, priority] of given) await queue.enqueue(q, id, {}, priority === undefined ? {} : { priority });
      const ran: string[] = [];
      const stop = await queue.work(q, async (job) => void ran.push(job.id), { concurrency: 1 });
      try {
        await until(() => ran.length === given.length);
        expect(ran).toEqual(['none', 'p1', 'p3a', 'p3b', 'p5', 'p10']);
      } finally {
        await stop();
      }
    });

    it('respects the concurrency bound', async () => {
      const q = queueName();
      let running = 0;
      let peak = 0;
      let finished = 0;
      for (let i = 0; i < 9; i++) await queue.enqueue(q, `c${i}`, { i });
      const stop = await queue.work(
        q,
        async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(80);
          running--;
          finished++;
        },
        { concurrency: 3 },
      );
      try {
        await until(() => finished === 9);
        expect(peak).toBe(3);
      } finally {
        await stop();
      }
    });

    it('runs at most perGroup jobs of a group at once; the rest wait without using an attempt, another group is not behind them', async () => {
      const q = queueName();
      for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) await queue.enqueue(q, id, {}, { group: 'tenant-a', attempts: 1 });
      await queue.enqueue(q, 'b1', {}, { group: 'tenant-b', attempts: 1 });
      const active = new Map<string, number>();
      let peak = 0;
      const started: Job[] = [];
      const stop = await queue.work(
        q,
        async (job) => {
          const group = job.id[0]!;
          started.push(job);
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
        // One attempt each was enough: waiting for the group's place is not a failed attempt.
        expect(started.map((job) => [job.id, job.attempt]).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1'].map((id) => [id, 1]));
        expect(started.findIndex((job) => job.id === 'b1')).toBeLessThan(3);
      } finally {
        await stop();
      }
    });

    it('slots shared by two queues bound their jobs together (LONG_JOBS_TOTAL), and every job still runs', async () => {
      const [q1, q2] = [queueName(), queueName()];
      const slots = createJobSlots(2);
      let running = 0;
      let peak = 0;
      let finished = 0;
      const handler = async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(50);
        running--;
        finished++;
      };
      for (let i = 0; i < 4; i++) await queue.enqueue(q1, `x${i}`, {}, { attempts: 1 });
      for (let i = 0; i < 4; i++) await queue.enqueue(q2, `y${i}`, {}, { group: `t${i % 2}`, attempts: 1 });
      const stops = await Promise.all([
        queue.work(q1, handler, { concurrency: 3, slots }),
        queue.work(q2, handler, { concurrency: 3, perGroup: 2, slots }),
      ]);
      try {
        await until(() => finished === 8);
        expect(peak).toBe(2);
      } finally {
        await Promise.all(stops.map((stop) => stop()));
      }
      // Every slot came back once the workers stopped.
      expect(slots.take(3)).toBe(2);
    });

    it('stop waits for the running jobs and takes no new ones', async () => {
      const q = queueName();
      let started = 0;
      let finished = 0;
      for (let i = 0; i < 6; i++) await queue.enqueue(q, `s${i}`, {});
      const stop = await queue.work(
        q,
        async () => {
          started++;
          await sleep(300);
          finished++;
        },
        { concurrency: 2 },
      );
      await until(() => started === 2);
      await stop();
      expect(finished).toBe(started);
      const startedAtStop = started;
      await sleep(300);
      expect(started).toBe(startedAtStop);
      expect(startedAtStop).toBeLessThan(6);
    });

    it('rejects invalid options and records nothing', async () => {
      const q = queueName();
      await expect(queue.enqueue(q, 'bad', {}, { attempts: 0 })).rejects.toBeInstanceOf(RangeError);
      await expect(queue.work(q, async () => undefined, { concurrency: 0 })).rejects.toBeInstanceOf(RangeError);
      expect(await queue.counts(q)).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 });
    });

    it('property: any mix of duplicate enqueues runs each distinct id exactly once', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 25 }), async (ids) => {
          const q = queueName();
          const runs = new Map<string, number>();
          await Promise.all(ids.map((id) => queue.enqueue(q, `id:${id}`, { id })));
          const stop = await queue.work(q, async (job) => void runs.set(job.id, (runs.get(job.id) ?? 0) + 1), { concurrency: 4 });
          try {
            const distinct = new Set(ids.map((id) => `id:${id}`));
            await until(() => runs.size === distinct.size);
            await sleep(100);
            expect([...runs.keys()].sort()).toEqual([...distinct].sort());
            expect([...runs.values()].every((n) => n === 1)).toBe(true);
            await until(async () => (await queue.counts(q)).completed === distinct.size);
          } finally {
            await stop();
          }
        }),
        { numRuns: 8 },
      );
    });
  });
}
