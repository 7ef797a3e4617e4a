// GET /v1/batches/{batchId}/events: the batch's events as Server-Sent Events, read from the batch stream
// (not the read model, so nothing lags behind what the aggregate decided). Each SSE `id` is the event's
// stream revision: a client that reconnects with `Last-Event-ID` gets exactly the events after it. The
// response ends after an end event (completed, partially completed, failed, cancelled); a later retry
// is followed by reconnecting with the last id.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { batchStreamId } from '../../domain/batches/batch-streams.js';
import type { JsonObject } from '../../domain/json.js';
import type { EventStore, RecordedEvent } from '../../ports/event-store.js';
import { eventsAfter, firstEventOf } from '../stream-reads.js';
import { principalOf } from '../auth.js';
import { notFoundOf } from '../../domain/not-found.js';
import { BATCH_CATEGORY } from '../../domain/batches/batch-streams.js';

const END_EVENTS = new Set(['BatchCompleted', 'BatchPartiallyCompleted', 'BatchFailed', 'BatchCancelled']);
const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

/** The event as a client needs it: the item lists of plans are left out (GET …/items pages them). */
function summary(event: RecordedEvent): JsonObject {
  const { items: _items, ...data } = event.data as JsonObject & {
    items?: unknown;
  };
  return {
    type: event.type,
    revision: Number(event.revision),
    occurredAt: String(event.metadata.occurredAt ?? ''),
    data: data as JsonObject,
  };
}

export async function batchEventsRoute(app: FastifyInstance, deps: { eventStore: EventStore; pollMs?: number }): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/v1/batches/:batchId/events',
    {
      config: { permission: 'templates:read' },
      schema: {
        tags: ['batches'],
        summary: "The batch's events as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
        params: z.strictObject({ batchId: z.uuid() }),
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
              'text/event-stream: per event `id: <stream revision>`, `event: <type>`, `data: {"type","revision","occurredAt","data"}`; ends after an end event',
            ),
        },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const streamId = batchStreamId(request.params.batchId);
      // Tenancy on the stream's first event: another tenant's batch is as missing as no batch.
      const first = await firstEventOf(deps.eventStore, streamId);
      if (!first || first.metadata.tenantId !== tenantId) throw notFoundOf(BATCH_CATEGORY);
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
          let ended = false;
          for (const event of events) {
            raw.write(`id: ${String(event.revision)}\nevent: ${event.type}\ndata: ${JSON.stringify(summary(event))}\n\n`);
            after = event.revision;
            ended = END_EVENTS.has(event.type);
          }
          if (events.length > 0) lastWrite = Date.now();
          if (ended) break;
          if (Date.now() - lastWrite > HEARTBEAT_MS) {
            raw.write(': heartbeat\n\n');
            lastWrite = Date.now();
          }
          await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? POLL_MS));
        }
      } catch (error) {
        request.log.warn({ err: error }, 'batch event stream failed');
      } finally {
        raw.end();
      }
    },
  );
}
