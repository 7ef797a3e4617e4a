// GET /v1/deployments/{deploymentId}/events: the deployment's events (releases, plans, each step's outcome,
// rollbacks, drift) as Server-Sent Events, read from its stream. Each SSE `id` is the event's stream
// revision: reconnecting with `Last-Event-ID` gets exactly the events after it. The response ends once no
// rollout is running (after RolloutSucceeded, or RolloutFailed with no automatic rollback behind it).
import { z } from 'zod';
import { deploymentStreamId } from '../../domain/deployments/index.js';
import { resolveStreamId } from '../../commands/stream-resolver.js';
import { DEPLOYMENT_CATEGORY } from '../../domain/deployments/deployment-streams.js';
import type { EventStore } from '../../ports/event-store.js';
import { aggregateEventSource, eventStreamRoute } from '../event-stream-route.js';

const END_EVENTS = new Set(['RolloutSucceeded', 'RolloutFailed']);

export const deploymentEventsRoute = eventStreamRoute({
  name: 'deployment',
  path: '/v1/deployments/:deploymentId/events',
  permission: 'deployments:read',
  tag: 'deployments',
  summary: "The deployment's progress as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
  description:
    'text/event-stream: per event `id: <stream revision>`, `event: <type>`, `data: {"type","revision","occurredAt","data"}`; ends when no rollout runs',
  params: z.strictObject({ deploymentId: z.uuid() }),
  source: async (deps: { eventStore: EventStore }, params, principal) =>
    aggregateEventSource(deps.eventStore, {
      tenantId: principal.tenantId,
      // Per tenant, or the tenant's legacy global stream (commands/stream-resolver.ts).
      streamId: await resolveStreamId(deps.eventStore, deploymentStreamId(principal.tenantId, params.deploymentId), principal.tenantId),
      category: DEPLOYMENT_CATEGORY,
      endEvents: END_EVENTS,
    }),
});
