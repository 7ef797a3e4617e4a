// Replay into a projection: rebuild one projection from position 0 into fresh tables beside the live ones (the engine's blue/green rebuild), and follow its progress as
// Server-Sent Events. Platform only: a projection holds every tenant's rows.
import type { FastifyInstance } from 'fastify';
import { openEventStream } from '../event-stream-route.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PLATFORM_PERMISSION } from '../../domain/principal.js';
import { START, formatPosition, parsePosition, type EventStore, type Position } from '../../ports/event-store.js';
import type { ProjectionEngine, RebuildProgress } from '../../projections/projector.js';
import { HttpProblem } from '../problem.js';
import { positionText } from './schemas.js';

export interface ReplayRouteDeps {
  readonly projections: ProjectionEngine;
  readonly eventStore: Pick<EventStore, 'headPosition'>;
  /** How often progress is sent (default 250 ms). */
  readonly progressMs?: number;
}

const tags = ['operations'];
const platform = { permission: PLATFORM_PERMISSION } as const;
const nameParams = z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/) });
const HEARTBEAT_MS = 15_000;

/** An estimate from positions: the prepare part grows with the log on every store (a sequence or an offset). */
export function percentDone(from: Position, checkpoint: Position, head: Position): number {
  const span = head.prepare - from.prepare;
  if (span <= 0n) return 100;
  const done = checkpoint.prepare - from.prepare;
  return Math.max(0, Math.min(100, Number((done * 1000n) / span) / 10));
}

export const replayProgress = z.object({
  projection: z.string(),
  state: z.enum(['running', 'swapped', 'failed']),
  from: z.string(),
  checkpoint: z.string(),
  head: z.string(),
  eventsReplayed: z.number().int(),
  percent: z.number(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
});

const view = (projection: string, progress: RebuildProgress, head: Position): z.infer<typeof replayProgress> => ({
  projection,
  state: progress.state,
  from: formatPosition(progress.from),
  checkpoint: formatPosition(progress.checkpoint),
  head: formatPosition(head),
  eventsReplayed: progress.eventsReplayed,
  percent: progress.state === 'swapped' ? 100 : percentDone(progress.from, progress.checkpoint, head),
  startedAt: progress.startedAt.toISOString(),
  ...(progress.finishedAt ? { finishedAt: progress.finishedAt.toISOString() } : {}),
  ...(progress.error ? { error: progress.error } : {}),
});

export async function replayRoutes(app: FastifyInstance, deps: ReplayRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const head = () => deps.eventStore.headPosition();

  routes.post(
    '/v1/admin/projections/:name/replay',
    {
      config: { ...platform, problems: [400, 409] },
      schema: {
        tags,
        summary: 'Replay the log into one projection (from position 0 or after a position) without taking it down',
        description:
          'The events are replayed into fresh tables while readers keep the live ones; the fresh tables are swapped in ' +
          'atomically once they have caught up. A `from` other than `0.0` is refused with 400 `replay.partial` before anything ' +
          'is touched: the read model as it stood at a position is not kept, so the replayed tables would lack every event ' +
          'before it. Follow it with GET on the same path (Server-Sent Events). 409 `rebuild.in_progress` while one runs.',
        params: nameParams,
        body: z
          .strictObject({
            from: positionText
              .optional()
              .describe('Only `0.0` (the default): a replay from a later position is refused (400 `replay.partial`)'),
          })
          .default({}),
        response: { 202: z.object({ projection: z.string(), state: z.literal('running'), from: z.string(), progress: z.string() }) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const from = request.body.from ? parsePosition(request.body.from)! : START;
      const { finished } = await deps.projections.startRebuild(name, { from });
      finished.catch((error: unknown) => request.log.error({ err: error, projection: name }, 'projection replay failed'));
      const progress = `/v1/admin/projections/${name}/replay`;
      return reply
        .code(202)
        .header('location', progress)
        .send({ projection: name, state: 'running' as const, from: formatPosition(from), progress });
    },
  );

  routes.get(
    '/v1/admin/projections/:name/replay',
    {
      config: platform,
      schema: {
        tags,
        summary: "A replay's progress as Server-Sent Events (text/event-stream), or as JSON",
        description:
          '`event: progress` with the state, the checkpoint reached, the events replayed and an estimated percent, then one ' +
          '`event: swapped` or `event: failed` and the end of the stream. Without `Accept: text/event-stream`, the current ' +
          'progress as JSON. 404 `replay.none` when no replay of it ran on this instance since it started.',
        params: nameParams,
        response: { 200: replayProgress.describe('JSON, or text/event-stream of the same objects') },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const current = deps.projections.rebuildProgress(name);
      if (!current) throw new HttpProblem(404, 'replay.none', `no replay of ${name} ran on this instance`);
      if (!(request.headers.accept ?? '').includes('text/event-stream')) return view(name, current, await head());

      const raw = openEventStream(reply);
      let open = true;
      request.raw.on('close', () => (open = false));
      let lastWrite = 0;
      let lastSent = '';
      try {
        while (open) {
          const progress = deps.projections.rebuildProgress(name)!;
          const message = JSON.stringify(view(name, progress, await head()));
          if (progress.state !== 'running') {
            raw.write(`event: ${progress.state}\ndata: ${message}\n\n`);
            break;
          }
          if (message !== lastSent || Date.now() - lastWrite > HEARTBEAT_MS) {
            raw.write(`event: progress\ndata: ${message}\n\n`);
            lastSent = message;
            lastWrite = Date.now();
          }
          await new Promise((resolve) => setTimeout(resolve, deps.progressMs ?? 250));
        }
      } catch (error) {
        request.log.warn({ err: error, projection: name }, 'replay progress stream failed');
      } finally {
        raw.end();
      }
    },
  );
}
