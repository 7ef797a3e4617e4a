import type { AllFilter } from '../../ports/event-store.js';

/** readAll's filter as SQL conditions on `e` (es_events), with parameters numbered from `firstParam`. */
export function filterClause(
  filter: AllFilter | undefined,
  firstParam: number,
): { clause: string; params: unknown[]; singleCategory: boolean } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const singleCategory = filter?.categories?.length === 1;
  if (singleCategory) {
    params.push(filter!.categories![0]);
    parts.push(`e.category = $${firstParam + params.length - 1}::text`);
  } else if (filter?.categories) {
    params.push(filter.categories);
    parts.push(`e.category = ANY($${firstParam + params.length - 1}::text[])`);
  }
  if (filter?.eventTypes) {
    params.push(filter.eventTypes);
    parts.push(`e.event_type = ANY($${firstParam + params.length - 1}::text[])`);
  }
  return { clause: parts.map((p) => `AND ${p}`).join(' '), params, singleCategory };
}
