// Parked work, for operators: events a process manager gave up on and jobs whose attempts ran out. Each
// was set aside so the rest go on; once the cause is fixed, an operator retries it here. Platform only:
// the lists hold every tenant's items.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PLATFORM_PERMISSION } from '../../domain/principal.js';
import type { ParkedJob } from '../../ports/job-queue.js';
import { HttpProblem } from '../problem.js';

export interface ParkedEventView {
  readonly process: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly streamId: string;
  readonly position: string;
  readonly tenantId: string | null;
  readonly attempts: number;
  readonly lastError: string;
  readonly parkedAt: string;
}

/** What the composition root hands over: the process runtime's parked events and the queues' parked jobs. */
export interface ParkedWork {
  counts(): Promise<{ events: number; jobs: number }>;
  list(limit: number): Promise<{ events: ParkedEventView[]; jobs: ParkedJob[] }>;
  retryEvent(process: string, eventId: string): Promise<'retried' | 'not_parked' | 'unknown_process'>;
  retryJob(queue: string, jobId: string): Promise<'retried' | 'not_parked' | 'unknown_queue'>;
}

export const parkedCountsSchema = z.object({ events: z.number().int(), jobs: z.number().int() });

const parkedEventSchema = z.object({
  process: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  streamId: z.string(),
  position: z.string(),
  tenantId: z.string().nullable(),
  attempts: z.number().int(),
  lastError: z.string(),
  parkedAt: z.string(),
});

const parkedJobSchema = z.object({
  queue: z.string(),
  id: z.string(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  parkedAt: z.string().nullable(),
});

const name = z.string().min(1).max(200);

export async function parkedRoutes(app: FastifyInstance, deps: { parked: ParkedWork }): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/v1/admin/parked',
    {
      config: { permission: PLATFORM_PERMISSION },
      schema: {
        tags: ['operations'],
        summary: 'Parked events and jobs (platform): work set aside after failing every attempt, so the rest went on',
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.object({ events: z.array(parkedEventSchema), jobs: z.array(parkedJobSchema) }) },
      },
    },
    async (request) => deps.parked.list(request.query.limit),
  );

  routes.post(
    '/v1/admin/parked/events/:process/:eventId/retry',
    {
      config: { permission: PLATFORM_PERMISSION, problems: [404, 409] },
      schema: {
        tags: ['operations'],
        summary: 'Handle a parked event again (platform)',
        description:
          'On success the event is unparked in the same transaction. 404 `parked.not_found` when it is not parked; 409 `parked.retry_failed` (with the error) when the handler still fails: it stays parked.',
        params: z.strictObject({ process: name, eventId: name }),
        response: { 200: z.object({ retried: z.literal(true) }) },
      },
    },
    async (request) => {
      const { process, eventId } = request.params;
      let outcome;
      try {
        outcome = await deps.parked.retryEvent(process, eventId);
      } catch (error) {
        throw new HttpProblem(409, 'parked.retry_failed', `the event still fails: ${(error as Error).message}`);
      }
      if (outcome !== 'retried') throw new HttpProblem(404, 'parked.not_found', 'no such parked event');
      return { retried: true as const };
    },
  );

  routes.post(
    '/v1/admin/parked/jobs/:queue/:jobId/retry',
    {
      config: { permission: PLATFORM_PERMISSION, problems: [404] },
      schema: {
        tags: ['operations'],
        summary: 'Run a parked job again with its full attempts (platform)',
        description: '404 `parked.not_found` when the job is not parked.',
        params: z.strictObject({ queue: name, jobId: name }),
        response: { 200: z.object({ retried: z.literal(true) }) },
      },
    },
    async (request) => {
      const outcome = await deps.parked.retryJob(request.params.queue, request.params.jobId);
      if (outcome !== 'retried') throw new HttpProblem(404, 'parked.not_found', 'no such parked job');
      return { retried: true as const };
    },
  );
}
