// The job queue port: BullMQ on Redis in production, a table in the SQL database for the embedded default.
import type { Transaction } from 'kysely';
import type { JsonObject } from '../domain/json.js';

export interface Job {
  readonly id: string;
  readonly queue: string;
  readonly payload: JsonObject;
  /** 1 on the first run. */
  readonly attempt: number;
}

export interface EnqueueOptions {
  /** At most MAX_DELAY_MS (a RangeError beyond): 64-bit time end to end, never a 32-bit millisecond count. */
  readonly delayMs?: number;
  /** 1 runs first … larger later (BullMQ's order); a job without one runs before every prioritized job, as
   * on BullMQ. Among equal priorities, the earlier due job first. */
  readonly priority?: number;
  /** The job's group (a tenant): with `work`'s `perGroup`, a group runs at most that many jobs of the queue at
   * once and groups take turns (the SQL queue; BullMQ bounds it too, without turns). */
  readonly group?: string;
  /** Runs before the job is marked failed (default 5), with exponential backoff between them. */
  readonly attempts?: number;
  /** The SQL queue records the job in this transaction (a process manager's checkpoint transaction), so
   * the job exists exactly when the checkpoint moves. Other queues ignore it and rely on id dedupe. No
   * worker can see the job before the commit: the committer calls `jobsCommitted` then. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database's transaction
  readonly transaction?: Transaction<any>;
}

export type JobHandler = (job: Job) => Promise<void>;

export interface WorkOptions {
  /** Jobs this worker runs at once (default 1). */
  readonly concurrency?: number;
  /** At most this many jobs of one group (EnqueueOptions.group) active in the queue at once, across every
   * instance; the rest wait (not refused), and the group that ran least recently goes first. */
  readonly perGroup?: number;
  /** Slots shared with other queues' workers of this process: a job of this queue runs only while it holds
   * one, so long jobs of every kind together stay within one bound per instance (the rest wait, queued). */
  readonly slots?: JobSlots;
}

/** A counting semaphore that never waits: workers take slots before they claim jobs and give them back after. */
export interface JobSlots {
  /** Takes up to `wanted` free slots; returns how many. When none was free, `onFree` is called (once) at the
   * next give-back: only the workers that found none are woken, so idle workers never wake each other in turn. */
  take(wanted: number, onFree?: () => void): number;
  /** Gives back `count` slots (default 1). */
  release(count?: number): void;
}

export function createJobSlots(total: number): JobSlots {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`total slots must be a positive integer, got ${total}`);
  let taken = 0;
  let waiting = new Set<() => void>();
  return {
    take(wanted, onFree) {
      const granted = Math.max(0, Math.min(wanted, total - taken));
      taken += granted;
      if (granted === 0 && wanted > 0 && onFree) waiting.add(onFree);
      return granted;
    },
    release(count = 1) {
      if (count > taken) throw new Error(`gave back ${count} slots, only ${taken} taken`);
      taken -= count;
      if (count === 0 || waiting.size === 0) return;
      const woken = waiting;
      waiting = new Set();
      for (const onFree of woken) onFree();
    },
  };
}

export interface JobCounts {
  readonly waiting: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly delayed: number;
}

/** A job whose attempts ran out: kept (dead-lettered) until an operator retries it; the others go on. */
export interface ParkedJob {
  readonly queue: string;
  readonly id: string;
  readonly payload: JsonObject;
  readonly attempts: number;
  readonly lastError: string | null;
  /** ISO instant of the last failure. */
  readonly parkedAt: string | null;
}

export interface JobQueue {
  /** Enqueues once: the same job id again is a no-op, so a re-delivered event never doubles its work. */
  enqueue(queue: string, jobId: string, payload: JsonObject, options?: EnqueueOptions): Promise<void>;
  /** Starts consuming; resolves to a function that stops after the running jobs finish. */
  work(queue: string, handler: JobHandler, options?: WorkOptions): Promise<() => Promise<void>>;
  /** After the commit of a transaction that enqueued into `queue`: wakes this process's idle workers of it
   * at once instead of at their next poll (queues whose jobs are visible on enqueue leave it out). */
  jobsCommitted?(queue: string): void;
  counts(queue: string): Promise<JobCounts>;
  /** The queue's parked jobs (attempts used up), most recent first, at most `limit` (default 100). */
  parked(queue: string, limit?: number): Promise<ParkedJob[]>;
  /** Runs a parked job again with its full attempts; false when no such job is parked. */
  retryParked(queue: string, jobId: string): Promise<boolean>;
  close(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 5;
/** Backoff before attempt n + 1: 1 s, 2 s, 4 s … capped at 5 minutes. */
export const backoffMs = (attempt: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attempt - 1));

/**
 * The longest delay a queue accepts: ten years, beyond every schedule the domain allows (a batch's
 * `scheduledAt` is at most a year ahead, a cron policy's next run at most eight years). A 32-bit
 * millisecond count ends at 24.85 days; every queue carries delays as 64-bit time instead.
 */
export const MAX_DELAY_MS = 10 * 366 * 86_400_000;

/** A delay as a whole number of milliseconds, 0 when absent or past; a RangeError for NaN or beyond MAX_DELAY_MS. */
export function checkedDelayMs(delayMs: number | undefined): number {
  const ms = Math.max(0, Math.round(delayMs ?? 0));
  if (!Number.isFinite(ms) || ms > MAX_DELAY_MS) throw new RangeError(`delayMs must be 0–${MAX_DELAY_MS}, got ${delayMs}`);
  return ms;
}
