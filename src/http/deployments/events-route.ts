// GET /v1/deployments/{deploymentId}/events: the deployment's events (releases, plans, each step's outcome,
// rollbacks, drift) as Server-Sent Events, read from its stream. Each SSE `id` is the event's stream
// revision: reconnecting with `Last-Event-ID` gets exactly the events after it. The response ends once no
// rollout is running (after RolloutSucceeded, or RolloutFailed with no automatic rollback behind it).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deploymentStreamId } from '../../domain/deployments/index.js';
import type { EventStore } from '../../ports/event-store.js';
import { eventsAfter, firstEventOf } from '../stream-reads.js';
import { principalOf } from '../auth.js';
import { resolveStreamId } from '../../commands/stream-resolver.js';
import { notFoundOf } from '../../domain/not-found.js';
import { DEPLOYMENT_CATEGORY } from '../../domain/deployments/deployment-streams.js';

const END_EVENTS = new Set(['RolloutSucceeded', 'RolloutFailed']);
const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

export async function deploymentEventsRoute(app: FastifyInstance, deps: { eventStore: EventStore; pollMs?: number }): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/v1/deployments/:deploymentId/events',
    {
      config: { permission: 'deployments:read' },
      schema: {
        tags: ['deployments'],
        summary: "The deployment's progress as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
        params: z.strictObject({ deploymentId: z.uuid() }),
        headers: z.object({
          'last-event-id': z
            .string()
            .regex(/^\d{1,15}$/, 'a revision sent as an SSE id')
            .optional(),
        }),
        response: {
          200: z
            .string()
            .describe(
              'text/event-stream: per event `id: <stream revision>`, `event: <type>`, `data: {"type","revision","occurredAt","data"}`; ends when no rollout runs',
            ),
        },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const streamId = await resolveStreamId(deps.eventStore, deploymentStreamId(tenantId, request.params.deploymentId), tenantId);
      const first = await firstEventOf(deps.eventStore, streamId);
      if (!first || first.metadata.tenantId !== tenantId) throw notFoundOf(DEPLOYMENT_CATEGORY);
      let after = request.headers['last-event-id'] === undefined ? -1n : BigInt(request.headers['last-event-id']);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let open = true;
      request.raw.on('close', () => (open = false));
      let lastWrite = Date.now();
      try {
        while (open) {
          const events = await eventsAfter(deps.eventStore, streamId, after);
          for (const event of events) {
            const data = {
              type: event.type,
              revision: Number(event.revision),
              occurredAt: String(event.metadata.occurredAt ?? ''),
              data: event.data,
            };
            raw.write(`id: ${String(event.revision)}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
            after = event.revision;
          }
          if (events.length > 0) lastWrite = Date.now();
          if (events.length > 0 && END_EVENTS.has(events.at(-1)!.type)) break;
          if (Date.now() - lastWrite > HEARTBEAT_MS) {
            raw.write(': heartbeat\n\n');
            lastWrite = Date.now();
          }
          await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? POLL_MS));
        }
      } catch (error) {
        request.log.warn({ err: error }, 'deployment event stream failed');
      } finally {
        raw.end();
      }
    },
  );
}
