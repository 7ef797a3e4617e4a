// Reads the event log for audit: the log itself is the history, so audit reads fold nothing and keep no
// read model. Type and category filters go to the store (PostgreSQL walks its category index); the rest
// (tenant, user, correlation, time) is checked per event. Reading is paged, so memory stays flat however
// much of the log a caller walks.
import { matchesAuditFilter, type AuditFilter } from '../../domain/audit/index.js';
import {
  START,
  StreamNotFoundError,
  comparePositions,
  type AllFilter,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../ports/event-store.js';

export interface AuditRange {
  /** Exclusive lower bound (also the cursor of the next page). */
  readonly after?: Position;
  /** Inclusive upper bound. */
  readonly upTo?: Position;
}

export interface AuditBatch {
  /** The events of the scanned range that match the filter, in log order. */
  readonly events: readonly RecordedEvent[];
  /** How far the scan has read (at least the last event's position). */
  readonly scannedTo: Position;
  readonly scanned: number;
  readonly isEnd: boolean;
}

const DEFAULT_BATCH = 500;

const beyond = (position: Position, upTo: Position | undefined) => upTo !== undefined && comparePositions(position, upTo) > 0;

/**
 * Scans the log (or one stream, when the filter names it) in batches of at most `batchSize` events. Each
 * batch is read only when the consumer asks for it: a slow NDJSON client holds one batch, never the log.
 */
export async function* scanAuditLog(
  store: EventStore,
  filter: AuditFilter,
  range: AuditRange = {},
  batchSize = DEFAULT_BATCH,
): AsyncGenerator<AuditBatch> {
  if (filter.streamId !== undefined) {
    yield* scanStream(store, filter, range, batchSize);
    return;
  }
  const storeFilter: AllFilter = {
    ...(filter.eventTypes ? { eventTypes: filter.eventTypes } : {}),
    ...(filter.categories ? { categories: filter.categories } : {}),
  };
  let after = range.after ?? START;
  for (;;) {
    const page = await store.readAll({
      after,
      maxCount: batchSize,
      ...(storeFilter.eventTypes || storeFilter.categories ? { filter: storeFilter } : {}),
    });
    const inRange = page.events.filter((event) => !beyond(event.position, range.upTo));
    const reachedEnd = page.isEnd || inRange.length < page.events.length || beyond(page.lastPosition, range.upTo);
    const scannedTo = reachedEnd && range.upTo && beyond(page.lastPosition, range.upTo) ? range.upTo : page.lastPosition;
    yield {
      events: inRange.filter((event) => matchesAuditFilter(event, filter)),
      scannedTo: comparePositions(scannedTo, after) < 0 ? after : scannedTo,
      scanned: inRange.length,
      isEnd: reachedEnd,
    };
    if (reachedEnd) return;
    after = page.lastPosition;
  }
}

async function* scanStream(store: EventStore, filter: AuditFilter, range: AuditRange, batchSize: number): AsyncGenerator<AuditBatch> {
  let fromRevision = 0n;
  let scannedTo = range.after ?? START;
  for (;;) {
    let events: RecordedEvent[];
    try {
      events = await store.readStream(filter.streamId!, { fromRevision, maxCount: batchSize });
    } catch (error) {
      if (error instanceof StreamNotFoundError) events = [];
      else throw error;
    }
    const isEnd = events.length < batchSize || events.some((event) => beyond(event.position, range.upTo));
    const inRange = events.filter(
      (event) => (range.after === undefined || comparePositions(event.position, range.after) > 0) && !beyond(event.position, range.upTo),
    );
    if (inRange.length > 0) scannedTo = inRange.at(-1)!.position;
    yield { events: inRange.filter((event) => matchesAuditFilter(event, filter)), scannedTo, scanned: events.length, isEnd };
    if (isEnd) return;
    fromRevision = events.at(-1)!.revision + 1n;
  }
}

/** Every matching event, one at a time (the NDJSON stream). */
export async function* auditEvents(store: EventStore, filter: AuditFilter, range: AuditRange = {}): AsyncGenerator<RecordedEvent> {
  for await (const batch of scanAuditLog(store, filter, range)) yield* batch.events;
}

export interface AuditPage {
  readonly events: readonly RecordedEvent[];
  /** Where the next page starts (pass it as `after`); absent at the end of the range. */
  readonly next?: Position;
}

/**
 * One page: up to `limit` matching events, scanning at most about `scanBudget` events of the log, so a
 * filter that matches rarely answers in bounded time with a cursor instead of walking the whole log.
 */
export async function readAuditPage(
  store: EventStore,
  filter: AuditFilter,
  range: AuditRange,
  { limit, scanBudget }: { limit: number; scanBudget: number },
): Promise<AuditPage> {
  const events: RecordedEvent[] = [];
  let scanned = 0;
  for await (const batch of scanAuditLog(store, filter, range, Math.min(DEFAULT_BATCH, Math.max(limit, 100)))) {
    scanned += batch.scanned;
    for (const event of batch.events) {
      events.push(event);
      if (events.length === limit) {
        const last = event.position;
        // The page is full: the next one starts after its last event, unless that was the range's end.
        const more = !(batch.isEnd && event === batch.events.at(-1) && comparePositions(last, batch.scannedTo) >= 0);
        return { events, ...(more ? { next: last } : {}) };
      }
    }
    if (batch.isEnd) return { events };
    if (scanned >= scanBudget) return { events, next: batch.scannedTo };
  }
  return { events };
}
