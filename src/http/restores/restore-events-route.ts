// GET /v1/restores/{restoreId}/events: the restore's events as Server-Sent Events, read from its stream
// (not the read model, so nothing lags). Each SSE `id` is the stream revision: reconnecting with
// `Last-Event-ID` gets exactly the events after it. Ends after RestoreCompleted or RestoreFailed.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { END_RESTORE_EVENTS, restoreStreamId } from '../../domain/restores/restore-aggregate.js';
import type { EventStore } from '../../ports/event-store.js';
import { eventsAfter, firstEventOf } from '../stream-reads.js';
import { principalOf } from '../auth.js';
import { notFoundOf } from '../../domain/not-found.js';
import { RESTORE_CATEGORY } from '../../domain/restores/restore-aggregate.js';

const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

export async function restoreEventsRoute(app: FastifyInstance, deps: { eventStore: EventStore; pollMs?: number }): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/restores/:restoreId/events',
    {
      config: { permission: 'backups:read' },
      schema: {
        tags: ['restores'],
        summary: "The restore's progress as Server-Sent Events (text/event-stream); resume with Last-Event-ID",
        params: z.strictObject({ restoreId: z.uuid() }),
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
              'text/event-stream: per event `id: <stream revision>`, `event: <type>` (RestoreRequested, RestoreRunStarted, RestoreProgressed, RestoreCompleted, RestoreFailed), `data: {"type","revision","occurredAt","data"}`; ends after RestoreCompleted or RestoreFailed',
            ),
        },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const streamId = restoreStreamId(request.params.restoreId);
      // Tenancy on the stream's first event: another tenant's restore is as missing as no restore.
      const first = await firstEventOf(deps.eventStore, streamId);
      if (!first || first.metadata.tenantId !== tenantId) throw notFoundOf(RESTORE_CATEGORY);
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
            const data = {
              type: event.type,
              revision: Number(event.revision),
              occurredAt: String(event.metadata.occurredAt ?? ''),
              data: event.data,
            };
            raw.write(`id: ${String(event.revision)}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
            after = event.revision;
            ended = END_RESTORE_EVENTS.includes(event.type);
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
        request.log.warn({ err: error }, 'restore event stream failed');
      } finally {
        raw.end();
      }
    },
  );
}
