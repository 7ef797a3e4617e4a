// Which events an audit query keeps. Pure: the reader (projections/audit) pages the log and asks this
// function about each event, so the same rule serves the NDJSON stream, the JSON pages and the tests.
import type { JsonObject } from '../json.js';

/** The most event types or categories one query may name. */
export const AUDIT_LIST_MAX = 20;
/** Longest stream id, user id or correlation id a query may name (ids are UUIDs or short keys). */
export const AUDIT_ID_MAX = 200;
/** Events per JSON page. */
export const AUDIT_PAGE_MAX = 1000;
/** Events one JSON page may scan past the filter before it answers (with a cursor to go on). */
export const AUDIT_SCAN_BUDGET = 20_000;

export interface AuditFilter {
  /** Only this tenant's events (always set for a tenant caller; optional for a platform one). */
  readonly tenantId?: string;
  readonly streamId?: string;
  /** Aggregate types: the stream category, the stream id up to its first '-'. */
  readonly categories?: readonly string[];
  readonly eventTypes?: readonly string[];
  readonly userId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Inclusive bounds on when the event occurred (metadata.occurredAt, else the store's recordedAt). */
  readonly occurredFrom?: Date;
  readonly occurredTo?: Date;
}

/** What the filter looks at: a structural subset of the store's recorded event. */
export interface AuditableEvent {
  readonly type: string;
  readonly streamId: string;
  readonly metadata: JsonObject;
  readonly recordedAt: Date;
}

export const categoryOf = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
};

/** When the event occurred: the command's clock (metadata.occurredAt) where it is readable, else the store's. */
export function occurredAt(event: AuditableEvent): Date {
  const stated = event.metadata.occurredAt;
  if (typeof stated === 'string') {
    const time = Date.parse(stated);
    if (!Number.isNaN(time)) return new Date(time);
  }
  return event.recordedAt;
}

export function matchesAuditFilter(event: AuditableEvent, filter: AuditFilter): boolean {
  const meta = event.metadata;
  if (filter.tenantId !== undefined && meta.tenantId !== filter.tenantId) return false;
  if (filter.streamId !== undefined && event.streamId !== filter.streamId) return false;
  if (filter.categories && !filter.categories.includes(categoryOf(event.streamId))) return false;
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.userId !== undefined && meta.userId !== filter.userId) return false;
  if (filter.correlationId !== undefined && meta.correlationId !== filter.correlationId) return false;
  if (filter.causationId !== undefined && meta.causationId !== filter.causationId) return false;
  if (filter.occurredFrom || filter.occurredTo) {
    const at = occurredAt(event).getTime();
    if (filter.occurredFrom && at < filter.occurredFrom.getTime()) return false;
    if (filter.occurredTo && at > filter.occurredTo.getTime()) return false;
  }
  return true;
}
