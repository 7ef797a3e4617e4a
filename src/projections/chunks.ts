// PostgreSQL's wire protocol counts a statement's parameters in 16 bits: a multi-row insert or an
// `IN (…)` list of more than 65,535 values fails. Batches can be larger than that (PROJECTION_BATCH_SIZE
// goes to 100,000), so projectors cut their statements with these.
const MAX_PARAMETERS = 60_000;

/** `items` in consecutive slices of at most `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Rows per multi-row statement with `columns` parameters each. */
export const rowsPerStatement = (columns: number) => Math.max(1, Math.floor(MAX_PARAMETERS / columns));
