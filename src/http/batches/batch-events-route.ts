// GET /v1/batches/{batchId}/events: the batch's events as Server-Sent Events, read from the batch stream
// (not the read model, so nothing lags behind what the aggregate decided). Each SSE `id` is the event's
// stream revision: a client that reconnects with `Last-Event-ID` gets exactly the events after it. The
// response ends after an end event (completed, partially completed, failed, cancelled); a later retry
// is followed by reconnecting with the last id.
import { z } from 'zod';
import { BATCH_CATEGORY, batchStreamId } from '../../domain/batches/batch-streams.js';
import type { JsonObject } from '../../domain/json.js';
import type { EventStore, RecordedEvent } from '../../ports/event-store.js';
import { aggregateEventSource, eventStreamRoute } from '../event-stream-route.js';

const END_EVENTS = new Set(['BatchCompleted', 'BatchPartiallyCompleted', 'BatchFailed', 'BatchCancelled']);

/** The event as a client needs it: the item lists of plans are left out (GET …/items pages them). */
function withoutItems(event: RecordedEvent): JsonObject {
  const { items: _items, ...data } = event.data as JsonObject & { items?: unknown };
  return data as JsonObject;
}

export const batchEventsRoute = eventStreamRoute({
  name: 'batch',
  path: '/v1/batches/:batchId/events',
  permission: 'templates:read',
  tag: 'batches',
  summary: "The batch's events as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
  description:
    'text/event-stream: per event `id: <stream revision>`, `event: <type>`, `data: {"type","revision","occurredAt","data"}`; ends after an end event',
  params: z.strictObject({ batchId: z.uuid() }),
  source: (deps: { eventStore: EventStore }, params, principal) =>
    aggregateEventSource(deps.eventStore, {
      tenantId: principal.tenantId,
      streamId: batchStreamId(params.batchId),
      category: BATCH_CATEGORY,
      endEvents: END_EVENTS,
      show: withoutItems,
    }),
});
