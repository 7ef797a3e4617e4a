// GET /v1/restores/{restoreId}/events: the restore's events as Server-Sent Events, read from its stream
// (not the read model, so nothing lags). Each SSE `id` is the stream revision: reconnecting with
// `Last-Event-ID` gets exactly the events after it. Ends after RestoreCompleted or RestoreFailed.
import { z } from 'zod';
import { END_RESTORE_EVENTS, RESTORE_CATEGORY, restoreStreamId } from '../../domain/restores/restore-aggregate.js';
import type { EventStore } from '../../ports/event-store.js';
import { aggregateEventSource, eventStreamRoute } from '../event-stream-route.js';

export const restoreEventsRoute = eventStreamRoute({
  name: 'restore',
  path: '/v1/restores/:restoreId/events',
  permission: 'backups:read',
  tag: 'restores',
  summary: "The restore's progress as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
  description:
    'text/event-stream: per event `id: <stream revision>`, `event: <type>` (RestoreRequested, RestoreRunStarted, RestoreProgressed, RestoreCompleted, RestoreFailed), `data: {"type","revision","occurredAt","data"}`; ends after RestoreCompleted or RestoreFailed',
  params: z.strictObject({ restoreId: z.uuid() }),
  source: (deps: { eventStore: EventStore }, params, principal) =>
    aggregateEventSource(deps.eventStore, {
      tenantId: principal.tenantId,
      streamId: restoreStreamId(params.restoreId),
      category: RESTORE_CATEGORY,
      endEvents: new Set(END_RESTORE_EVENTS),
    }),
});
