// The chunk planner: which items go to the job queue together. Pure and deterministic, so the process
// manager, the decider and a replay all agree on chunk k without storing more than its index.
import { RuleViolation } from '../rule-violation.js';

/**
 * Splits item indexes into chunks of at most `chunkSize`, in ascending index order: every index lands in
 * exactly one chunk, chunks are consecutive runs of the sorted indexes, and only the last may be short.
 * Duplicate indexes are dropped.
 */
export function planChunks(indexes: readonly number[], chunkSize: number): number[][] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RuleViolation('batch.options.invalid', 'chunkSize must be a whole number ≥ 1', 'invalid', 'options.chunkSize');
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const chunks: number[][] = [];
  for (let i = 0; i < sorted.length; i += chunkSize) chunks.push(sorted.slice(i, i + chunkSize));
  return chunks;
}
