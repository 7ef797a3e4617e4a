// The progress of a batch from its item counts and the timestamps the caller passes in (the domain has no
// clock): counts per state, percentage done, throughput and estimated time left.
import type { BatchItemCounts } from './batch-state.js';

export type BatchProgress = {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  /** Not yet finished: waiting for a chunk (pending) or in one (queued). */
  pending: number;
  queued: number;
  /** Items with an outcome, in percent of the total, rounded down to 2 decimals (100 only when all are). */
  percentage: number;
  /** Items run to an outcome per second since the start (skipped and cancelled ones never ran), or null
   * before the start and in the first instant. */
  throughputPerSecond: number | null;
  /** Whole seconds left at the current throughput (rounded up: 0 only when nothing is left), or null when
   * it is unknown (no throughput yet). */
  etaSeconds: number | null;
};

/** `startedAt` / `now` are ISO instants (or null when the batch has not started). */
export function batchProgress(counts: BatchItemCounts, times: { startedAt: string | null; now: string }): BatchProgress {
  const total = counts.pending + counts.queued + counts.succeeded + counts.failed + counts.skipped + counts.cancelled;
  const finished = counts.succeeded + counts.failed + counts.skipped + counts.cancelled;
  const unfinished = counts.pending + counts.queued;
  const percentage = total === 0 ? 100 : Math.floor((finished / total) * 10_000) / 100;
  const elapsedSeconds = times.startedAt === null ? 0 : (Date.parse(times.now) - Date.parse(times.startedAt)) / 1000;
  const ran = counts.succeeded + counts.failed;
  const throughputPerSecond = elapsedSeconds > 0 && Number.isFinite(elapsedSeconds) ? ran / elapsedSeconds : null;
  const etaSeconds =
    unfinished === 0 ? 0 : throughputPerSecond !== null && throughputPerSecond > 0 ? Math.ceil(unfinished / throughputPerSecond) : null;
  return { total, ...counts, pending: counts.pending, queued: counts.queued, percentage, throughputPerSecond, etaSeconds };
}
