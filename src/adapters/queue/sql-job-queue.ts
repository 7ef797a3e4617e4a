// The job queue in the SQL database (PGlite by default, PostgreSQL too): durable across restarts, claims
// with SKIP LOCKED, and reclaims jobs whose worker died (their lease ran out).
import { sql, type Transaction } from 'kysely';
import type { JsonObject } from '../../domain/json.js';
import {
  DEFAULT_ATTEMPTS,
  backoffMs,
  checkedDelayMs,
  type EnqueueOptions,
  type Job,
  type JobCounts,
  type JobHandler,
  type JobQueue,
  type ParkedJob,
} from '../../ports/job-queue.js';
import type { SqlDatabase, SqlQueryable } from '../../ports/sql-database.js';
import type { ChangeFeed } from '../../ports/change-feed.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  queue        text        NOT NULL,
  job_id       text        NOT NULL,
  payload      jsonb       NOT NULL,
  state        text        NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'active', 'completed', 'failed')),
  attempt      int         NOT NULL DEFAULT 0,
  max_attempts int         NOT NULL CHECK (max_attempts >= 1),
  run_at       timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, job_id)
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (queue, run_at) WHERE state IN ('waiting', 'active');
-- Added after the table: 0 (none) runs before 1, 1 before 2 … (BullMQ's order).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS priority int NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS jobs_runnable_by_priority ON jobs (queue, priority, run_at) WHERE state IN ('waiting', 'active');
-- Added later: the job's group (a tenant), for per-group limits and turns (WorkOptions.perGroup).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS job_group text;
CREATE INDEX IF NOT EXISTS jobs_by_group ON jobs (queue, job_group, updated_at) WHERE job_group IS NOT NULL;`;

const INSERT_JOB = `INSERT INTO jobs (queue, job_id, payload, max_attempts, run_at, priority, job_group)
  VALUES ($1, $2, $3::jsonb, $4, now() + ($5::float8 * interval '1 millisecond'), $6, $7)
  ON CONFLICT (queue, job_id) DO NOTHING`;

export interface SqlJobQueueOptions {
  /** How often an idle worker looks for jobs nobody announced; a local enqueue wakes it at once, and a
   * delayed job's due time ends the wait. */
  readonly pollIntervalMs?: number;
  /** Other processes' enqueues announced over LISTEN/NOTIFY; while it is up, workers poll every `listeningPollMs`. */
  readonly changeFeed?: ChangeFeed;
  readonly listeningPollMs?: number;
  /** A claimed job whose lease is not renewed within this is taken to belong to a dead worker and runs again. */
  readonly leaseMs?: number;
}

export type SqlJobQueue = JobQueue & { migrate(): Promise<void> };

function insertParams(queue: string, jobId: string, payload: JsonObject, options: EnqueueOptions): unknown[] {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const delayMs = checkedDelayMs(options.delayMs);
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  if (!queue || !jobId) throw new RangeError('queue and job id must be non-empty');
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 2_097_152)
    throw new RangeError(`priority must be a whole number 0–2097152, got ${priority}`);
  return [queue, jobId, JSON.stringify(payload), attempts, delayMs, priority, options.group ?? null];
}

/**
 * Records a job in the caller's transaction (e.g. with a projection checkpoint), so the job exists exactly
 * when the transaction commits. Workers notice it on their next poll.
 */
export async function enqueueInTransaction(
  tx: SqlQueryable,
  queue: string,
  jobId: string,
  payload: JsonObject,
  options: EnqueueOptions = {},
): Promise<void> {
  await tx.query(INSERT_JOB, insertParams(queue, jobId, payload, options));
}

// The same insert through a Kysely transaction (the checkpointed runner hands its handlers one).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database's transaction
async function enqueueInKyselyTransaction(trx: Transaction<any>, params: unknown[]): Promise<void> {
  const [queue, jobId, payload, attempts, delayMs, priority, group] = params;
  await sql`INSERT INTO jobs (queue, job_id, payload, max_attempts, run_at, priority, job_group)
    VALUES (${queue}, ${jobId}, ${payload}::jsonb, ${attempts}, now() + (${delayMs}::float8 * interval '1 millisecond'), ${priority}, ${group})
    ON CONFLICT (queue, job_id) DO NOTHING`.execute(trx);
}

export function createSqlJobQueue(db: SqlDatabase, options: SqlJobQueueOptions = {}): SqlJobQueue {
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const leaseMs = options.leaseMs ?? 60_000;
  const wakers = new Map<string, Set<() => void>>();
  const stops = new Set<() => Promise<void>>();

  const wakeLocal = (queue: string) => wakers.get(queue)?.forEach((wake) => wake());
  const feed = options.changeFeed;
  const listeningPollMs = options.listeningPollMs ?? 30_000;
  const currentPollMs = () => (feed?.listening() ? listeningPollMs : pollIntervalMs);
  // After a commit that made jobs runnable: this process's workers at once, the others' through the feed.
  const wakeWorkers = (queue: string) => {
    wakeLocal(queue);
    feed?.announce('jobs', queue);
  };
  const unlisten = feed?.onChange('jobs', (queue) => (queue === '*' ? [...wakers.keys()].forEach(wakeLocal) : wakeLocal(queue)));

  /** Milliseconds until the queue's next delayed job (or a lease of a claimed job) comes due; undefined: none. */
  async function nextDueInMs(queue: string): Promise<number | undefined> {
    const [row] = await db.query<{ due_in_ms: number | null }>(
      // No GREATEST here: it skips NULLs, so "nothing due" would read as "due now" (a busy loop).
      `SELECT (extract(epoch FROM (min(due) - now())) * 1000)::float8 AS due_in_ms FROM (
         SELECT min(run_at) AS due FROM jobs WHERE queue = $1 AND state = 'waiting'
         UNION ALL SELECT min(locked_until) FROM jobs WHERE queue = $1 AND state = 'active' AND attempt < max_attempts) d`,
      [queue],
    );
    return row?.due_in_ms === null || row?.due_in_ms === undefined ? undefined : Math.max(0, Number(row.due_in_ms));
  }

  // When each queue's orphans that used their last attempt were last failed (see claim).
  const reapedAt = new Map<string, number>();
  const reapEveryMs = Math.max(pollIntervalMs, 1000);

  /** Claims up to `limit` due jobs, including those whose worker's lease ran out (crashed process). */
  async function claim(queue: string, limit: number): Promise<Job[]> {
    // A job that keeps killing its worker would be reclaimed forever: once its attempts are used up, fail it.
    // The claim below never takes such a job, so this need not run on every claim (a wake-up's claim is
    // on a rollout's critical path): at most once a second per queue.
    if (Date.now() - (reapedAt.get(queue) ?? 0) >= reapEveryMs) {
      await db.query(
        `UPDATE jobs SET state = 'failed', locked_until = NULL, last_error = 'lease expired: the worker stopped during the last attempt', updated_at = now()
          WHERE queue = $1 AND state = 'active' AND locked_until < now() AND attempt >= max_attempts`,
        [queue],
      );
      reapedAt.set(queue, Date.now());
    }
    const rows = await db.query<{ job_id: string; payload: JsonObject; attempt: number }>(
      `UPDATE jobs SET state = 'active', attempt = attempt + 1, locked_until = now() + ($3::float8 * interval '1 millisecond'), updated_at = now()
        WHERE (queue, job_id) IN (
          SELECT queue, job_id FROM jobs
           WHERE queue = $1 AND run_at <= now()
             AND (state = 'waiting' OR (state = 'active' AND locked_until < now() AND attempt < max_attempts))
           ORDER BY priority, run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING job_id, payload, attempt`,
      [queue, limit, leaseMs],
    );
    return rows.map((row) => ({ id: row.job_id, queue, payload: row.payload, attempt: Number(row.attempt) }));
  }

  /**
   * Claims one due job whose group runs fewer than `perGroup` jobs of the queue now, the group that ran
   * least in the last ten minutes first. Under a queue-wide lock, so two instances never both see a
   * group's last free place.
   */
  async function claimGrouped(queue: string, perGroup: number): Promise<Job[]> {
    const rows = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`jobs:${queue}`]);
      return tx.query<{ job_id: string; payload: JsonObject; attempt: number }>(
        `UPDATE jobs SET state = 'active', attempt = attempt + 1, locked_until = now() + ($3::float8 * interval '1 millisecond'), updated_at = now()
          WHERE (queue, job_id) IN (
            SELECT j.queue, j.job_id FROM jobs j
             WHERE j.queue = $1 AND j.run_at <= now()
               AND (j.state = 'waiting' OR (j.state = 'active' AND j.locked_until < now() AND j.attempt < j.max_attempts))
               AND (j.job_group IS NULL OR (SELECT count(*) FROM jobs a WHERE a.queue = $1 AND a.job_group = j.job_group
                                              AND a.state = 'active' AND a.locked_until >= now()) < $2)
             ORDER BY j.priority,
                      (SELECT count(*) FROM jobs r WHERE r.queue = $1 AND r.job_group = j.job_group
                          AND r.state <> 'waiting' AND r.updated_at > now() - interval '10 minutes'),
                      j.run_at
             LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING job_id, payload, attempt`,
        [queue, perGroup, leaseMs],
      );
    });
    return rows.map((row) => ({ id: row.job_id, queue, payload: row.payload, attempt: Number(row.attempt) }));
  }

  // Every update of a claimed job names its attempt: if the lease ran out and another worker took the job
  // over, the late worker's renewal or result touches nothing.
  const renewLease = (job: Job) =>
    db.query(
      `UPDATE jobs SET locked_until = now() + ($4::float8 * interval '1 millisecond') WHERE queue = $1 AND job_id = $2 AND state = 'active' AND attempt = $3`,
      [job.queue, job.id, job.attempt, leaseMs],
    );

  async function finish(job: Job, error?: Error): Promise<void> {
    if (!error) {
      await db.query(
        `UPDATE jobs SET state = 'completed', locked_until = NULL, last_error = NULL, updated_at = now() WHERE queue = $1 AND job_id = $2 AND state = 'active' AND attempt = $3`,
        [job.queue, job.id, job.attempt],
      );
      return;
    }
    await db.query(
      `UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'waiting' END,
              run_at = now() + ($4::float8 * interval '1 millisecond'), locked_until = NULL, last_error = $5, updated_at = now()
        WHERE queue = $1 AND job_id = $2 AND state = 'active' AND attempt = $3`,
      [job.queue, job.id, job.attempt, backoffMs(job.attempt), (error.stack ?? error.message).slice(0, 4000)],
    );
  }

  async function runJob(job: Job, handler: JobHandler): Promise<void> {
    // Renew well before the lease runs out, so a long job is not mistaken for an orphan.
    const renewal = setInterval(() => void renewLease(job).catch(() => undefined), Math.max(10, Math.floor(leaseMs / 3)));
    let failure: Error | undefined;
    try {
      await handler(job);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    } finally {
      clearInterval(renewal);
    }
    // If recording the result fails (database down), the lease runs out and the job runs again: at least once.
    await finish(job, failure).catch(() => undefined);
  }

  return {
    migrate: () => db.exec(SCHEMA),

    async enqueue(queue, jobId, payload, enqueueOptions = {}) {
      const params = insertParams(queue, jobId, payload, enqueueOptions);
      if (enqueueOptions.transaction) {
        // Not visible before the commit: a wake now would only cost an empty claim. The committer calls
        // jobsCommitted (the process runtime does, after its checkpoint's commit); the poll is the fallback.
        await enqueueInKyselyTransaction(enqueueOptions.transaction, params);
        return;
      }
      await db.query(INSERT_JOB, params);
      wakeWorkers(queue);
    },

    jobsCommitted: wakeWorkers,

    async work(queue, handler: JobHandler, workOptions = {}) {
      const concurrency = workOptions.concurrency ?? 1;
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
      const perGroup = workOptions.perGroup;
      if (perGroup !== undefined && (!Number.isInteger(perGroup) || perGroup < 1))
        throw new RangeError(`perGroup must be a positive integer, got ${perGroup}`);
      let stopped = false;
      const running = new Set<Promise<void>>();
      let wakeLoop: (() => void) | undefined;
      let wokenEarly = false;
      const wake = () => (wakeLoop ? wakeLoop() : (wokenEarly = true));
      const queueWakers = wakers.get(queue) ?? new Set();
      wakers.set(queue, queueWakers.add(wake));

      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          if (wokenEarly || stopped) return resolve();
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            wakeLoop = undefined;
            resolve();
          }
          wakeLoop = done;
        });

      const slots = workOptions.slots;

      const loop = (async () => {
        while (!stopped) {
          wokenEarly = false;
          // Slots are taken before the claim, so a claimed job always has one (other queues' workers claim
          // between our awaits); the ones the claim did not use go back at once.
          const wanted = Math.max(0, perGroup === undefined ? concurrency - running.size : Math.min(1, concurrency - running.size));
          // Found none free: the next give-back (another queue's job done) wakes this worker.
          const held = slots ? slots.take(wanted, wake) : wanted;
          // A failed claim (database briefly unreachable) is retried on the next poll.
          const jobs =
            held <= 0
              ? []
              : perGroup === undefined
                ? await claim(queue, held).catch((): Job[] => [])
                : await claimGrouped(queue, perGroup).catch((): Job[] => []);
          slots?.release(held - jobs.length);
          for (const job of jobs) {
            const run: Promise<void> = runJob(job, handler).finally(() => {
              running.delete(run);
              slots?.release();
              wake();
            });
            running.add(run);
          }
          if (running.size >= concurrency) await sleep(currentPollMs());
          else if (jobs.length === 0) {
            // Nothing due: sleep until the next delayed job is due, or the poll (a failed look: the poll).
            const dueInMs = await nextDueInMs(queue).catch(() => undefined);
            await sleep(Math.min(currentPollMs(), dueInMs === undefined ? Infinity : Math.ceil(dueInMs) + 1));
          }
        }
      })();

      let stopping: Promise<void> | undefined;
      const stop = () =>
        (stopping ??= (async () => {
          stopped = true;
          wake();
          queueWakers.delete(wake);
          await loop;
          await Promise.all(running);
          stops.delete(stop);
        })());
      stops.add(stop);
      return stop;
    },

    async counts(queue): Promise<JobCounts> {
      const rows = await db.query<{ state: string; delayed: boolean; n: number }>(
        `SELECT state, (state = 'waiting' AND run_at > now()) AS delayed, count(*)::int AS n FROM jobs WHERE queue = $1 GROUP BY 1, 2`,
        [queue],
      );
      const count = (state: string, delayed = false) =>
        rows.filter((r) => r.state === state && r.delayed === delayed).reduce((sum, r) => sum + Number(r.n), 0);
      return {
        waiting: count('waiting'),
        delayed: count('waiting', true),
        active: count('active'),
        completed: count('completed'),
        failed: count('failed'),
      };
    },

    async parked(queue, limit = 100): Promise<ParkedJob[]> {
      const rows = await db.query<{ job_id: string; payload: JsonObject; attempt: number; last_error: string | null; parked_at: string }>(
        `SELECT job_id, payload, attempt, last_error, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS parked_at
           FROM jobs WHERE queue = $1 AND state = 'failed' ORDER BY updated_at DESC, job_id LIMIT $2`,
        [queue, limit],
      );
      return rows.map((row) => ({
        queue,
        id: row.job_id,
        payload: row.payload,
        attempts: Number(row.attempt),
        lastError: row.last_error,
        parkedAt: row.parked_at,
      }));
    },

    async retryParked(queue, jobId) {
      // attempt back to 0: the retried job gets its full attempts again; last_error stays for the operator.
      const rows = await db.query<{ job_id: string }>(
        `UPDATE jobs SET state = 'waiting', attempt = 0, run_at = now(), locked_until = NULL, updated_at = now()
          WHERE queue = $1 AND job_id = $2 AND state = 'failed' RETURNING job_id`,
        [queue, jobId],
      );
      if (rows.length > 0) wakeWorkers(queue);
      return rows.length > 0;
    },

    async close() {
      unlisten?.();
      await Promise.all([...stops].map((stop) => stop()));
    },
  };
}
