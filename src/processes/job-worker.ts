// A consumer of one job queue: what a feature (or a test) asks the composition root to run.
import type { JobHandler } from '../ports/job-queue.js';

export interface JobWorker {
  readonly queue: string;
  readonly handler: JobHandler;
  /** Jobs of this queue run at once on this instance (default 4). */
  readonly concurrency?: number;
  /** At most this many jobs of one group (a tenant) at once, across instances; groups take turns (WorkOptions). */
  readonly perGroup?: number;
  /** A long job (restore, drill, backup, batch chunk): it holds one of the instance's LONG_JOBS_TOTAL slots
   * while it runs, shared by every long queue, so one tenant's storm cannot take every worker. */
  readonly long?: boolean;
}
