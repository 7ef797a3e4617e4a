// The job queue on BullMQ (Redis): what production runs, and what scales workers out across machines.
import { createHash } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job as BullmqJob } from 'bullmq';
import { Redis } from 'ioredis';
import type { JsonObject } from '../../domain/json.js';
import { DEFAULT_ATTEMPTS, checkedDelayMs, type JobCounts, type JobQueue, type JobSlots, type ParkedJob } from '../../ports/job-queue.js';

/**
 * BullMQ 6 refuses ':' in queue names and job ids, and integers as job ids. Safe ids pass through; any
 * other id maps to a hash of itself, so equal ids still collide (dedupe holds) and distinct ones do not.
 */
export function bullmqSafeId(id: string): string {
  if (/^[A-Za-z0-9_.-]{1,200}$/.test(id) && !/^\d+$/.test(id)) return id;
  return `h-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** What BullMQ stores: the caller's id travels with the payload, because the BullMQ id may be its hash. */
interface StoredJob {
  readonly id: string;
  readonly payload: JsonObject;
  readonly group?: string;
}

/** How long work() waits for the worker's connection before returning anyway. */
const READY_WAIT_MS = 3000;

// Open-source BullMQ has no groups. A group's places are a sorted set per (queue, group) in Redis: member the
// job id, score the instant its hold runs out. A job takes a place when it starts (or finds its group full and
// goes back to delayed); a running job renews its hold; a crashed worker's place frees itself at expiry.
const TAKE_GROUP_PLACE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0`;
const RENEW_GROUP_PLACE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

/** How long a group place outlives its last renewal (a crashed worker's place frees itself after this). */
const GROUP_HOLD_MS = 60_000;
/** A job that finds its group (or the instance's slots) full waits this long, plus up to as much again. */
const POSTPONE_MS = 500;

export interface BullmqJobQueueOptions {
  /** Key prefix in Redis: separates environments (and test runs) sharing one Redis. */
  readonly prefix?: string;
  /** How long a job that cannot start yet (group or slots full) waits before it asks again (default 500 ms + jitter). */
  readonly postponeMs?: number;
}

export function createBullmqJobQueue(redisUrl: string, options: BullmqJobQueueOptions = {}): JobQueue {
  const prefix = options.prefix ?? 'kyo';
  // Producers fail fast when Redis is down (the caller retries); workers' blocking connections must wait
  // forever instead, which BullMQ requires (maxRetriesPerRequest: null).
  const producerConnection = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  producerConnection.on('error', () => undefined); // ioredis reconnects; a listener keeps the error from crashing
  const queues = new Map<string, Queue>();
  const stops = new Set<() => Promise<void>>();

  const queueOf = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(bullmqSafeId(name), { connection: producerConnection, prefix });
      queue.on('error', () => undefined);
      queues.set(name, queue);
    }
    return queue;
  };

  const postponeMs = options.postponeMs ?? POSTPONE_MS;
  const groupKey = (queue: string, group: string) => `${prefix}:kyo-group:${bullmqSafeId(queue)}:${bullmqSafeId(group)}`;

  /** Runs `run` only with one of `slots` and, for a grouped job, one of its group's `perGroup` places; a job
   * that finds either full goes back to delayed (not an attempt: BullMQ counts a DelayedError as none). */
  function bounded(
    queue: string,
    run: (job: BullmqJob<StoredJob>) => Promise<void>,
    perGroup: number | undefined,
    slots: JobSlots | undefined,
  ) {
    return async (job: BullmqJob<StoredJob>, token?: string) => {
      const postpone = async () => {
        await job.moveToDelayed(Date.now() + postponeMs + Math.floor(Math.random() * postponeMs), token);
        throw new DelayedError();
      };
      if (slots && slots.take(1) === 0) return postpone();
      const group = perGroup === undefined ? undefined : job.data.group;
      const key = group === undefined ? undefined : groupKey(queue, group);
      try {
        if (key && (await producerConnection.eval(TAKE_GROUP_PLACE, 1, key, job.id!, perGroup!, GROUP_HOLD_MS)) !== 1)
          return await postpone();
        const renewal = key
          ? setInterval(
              () => void producerConnection.eval(RENEW_GROUP_PLACE, 1, key, job.id!, GROUP_HOLD_MS).catch(() => undefined),
              GROUP_HOLD_MS / 3,
            )
          : undefined;
        try {
          await run(job);
        } finally {
          clearInterval(renewal);
          // If Redis is away now, the place frees itself at expiry.
          if (key) await producerConnection.zrem(key, job.id!).catch(() => undefined);
        }
      } finally {
        slots?.release();
      }
    };
  }

  return {
    async enqueue(queue, jobId, payload, enqueueOptions = {}) {
      const attempts = enqueueOptions.attempts ?? DEFAULT_ATTEMPTS;
      if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
      if (!queue || !jobId) throw new RangeError('queue and job id must be non-empty');
      const delay = checkedDelayMs(enqueueOptions.delayMs);
      const stored: StoredJob = { id: jobId, payload, ...(enqueueOptions.group !== undefined ? { group: enqueueOptions.group } : {}) };
      // A job id already known to BullMQ (waiting, active, or kept completed/failed) makes add a no-op.
      await queueOf(queue).add(queue, stored, {
        jobId: bullmqSafeId(jobId),
        attempts,
        backoff: { type: 'exponential', delay: 1000 }, // 1 s, 2 s, 4 s … like the SQL queue
        ...(delay > 0 ? { delay } : {}),
        ...(enqueueOptions.priority && enqueueOptions.priority > 0 ? { priority: enqueueOptions.priority } : {}),
        // Bounded history. Completed jobs are kept a day: that is the window in which a re-delivered
        // event's duplicate enqueue is still recognised; failed ones a week, for inspection.
        removeOnComplete: { age: 86_400, count: 100_000 },
        removeOnFail: { age: 7 * 86_400, count: 100_000 },
      });
    },

    async work(queue, handler, workOptions = {}) {
      const concurrency = workOptions.concurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
      const perGroup = workOptions.perGroup;
      if (perGroup !== undefined && (!Number.isInteger(perGroup) || perGroup < 1))
        throw new RangeError(`perGroup must be a positive integer, got ${perGroup}`);
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      connection.on('error', () => undefined);
      const run = async (job: BullmqJob<StoredJob>) =>
        handler({ id: job.data.id, queue, payload: job.data.payload, attempt: job.attemptsMade + 1 });
      const worker = new Worker<StoredJob>(
        bullmqSafeId(queue),
        perGroup === undefined && !workOptions.slots ? run : bounded(queue, run, perGroup, workOptions.slots),
        { connection, prefix, concurrency },
      );
      worker.on('error', () => undefined); // connection errors are retried by BullMQ; never crash the process
      // Bounded: with Redis down at start the service must still come up (its reads do not need Redis);
      // the worker keeps connecting and starts taking jobs once Redis answers.
      let timer: NodeJS.Timeout | undefined;
      let ready = false;
      await Promise.race([
        worker.waitUntilReady().then(
          () => void (ready = true),
          () => undefined,
        ),
        new Promise((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS))),
      ]);
      clearTimeout(timer);
      let stopping: Promise<void> | undefined;
      const stop = () =>
        (stopping ??= (async () => {
          if (ready || connection.status === 'ready') {
            await worker.close(); // waits for the running jobs
            await connection.quit().catch(() => connection.disconnect());
          } else {
            // Never connected: no job can be running, and a graceful close would wait for Redis forever.
            connection.disconnect();
            let closeTimer: NodeJS.Timeout | undefined;
            await Promise.race([
              worker.close(true).catch(() => undefined),
              new Promise((resolve) => (closeTimer = setTimeout(resolve, READY_WAIT_MS))),
            ]);
            clearTimeout(closeTimer);
          }
          stops.delete(stop);
        })());
      stops.add(stop);
      return stop;
    },

    async counts(queue): Promise<JobCounts> {
      const counts = await queueOf(queue).getJobCounts(
        'waiting',
        'prioritized',
        'waiting-children',
        'active',
        'completed',
        'failed',
        'delayed',
      );
      return {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts['waiting-children'] ?? 0),
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        delayed: counts.delayed ?? 0,
      };
    },

    async parked(queue, limit = 100): Promise<ParkedJob[]> {
      // BullMQ's failed set is the dead letter: newest first, kept a week (removeOnFail above).
      const jobs = await queueOf(queue).getFailed(0, Math.max(0, limit - 1));
      return jobs.map((job) => {
        const stored = job.data as StoredJob;
        return {
          queue,
          id: stored.id,
          payload: stored.payload,
          attempts: job.attemptsMade,
          lastError: job.failedReason ?? null,
          parkedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        };
      });
    },

    async retryParked(queue, jobId) {
      const job = await queueOf(queue).getJob(bullmqSafeId(jobId));
      if (!job || !(await job.isFailed())) return false;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    },

    async close() {
      await Promise.all([...stops].map((stop) => stop()));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      queues.clear();
      await producerConnection.quit().catch(() => producerConnection.disconnect());
    },
  };
}
