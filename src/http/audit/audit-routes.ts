// Event replay for audit: the tenant's events with their metadata, filtered, as paged JSON or as an NDJSON
// stream, and one aggregate's history. Read straight from the log (projections/audit): it is the record.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AUDIT_SCAN_BUDGET, categoryOf, occurredAt, type AuditFilter } from '../../domain/audit/index.js';
import { PLATFORM_PERMISSION, hasPermission, type Principal } from '../../domain/principal.js';
import { formatPosition, parsePosition, type EventStore, type RecordedEvent } from '../../ports/event-store.js';
import { auditEvents, readAuditPage } from '../../projections/audit/audit-log.js';
import { principalOf } from '../auth.js';
import { resolveStreamId } from '../../commands/stream-resolver.js';
import { parseStreamId, tenantStreamId } from '../../domain/tenant-streams.js';
import { HttpProblem } from '../problem.js';
import { auditEvent, auditEventsQuery, auditPage, streamPage, streamParams, streamQuery } from './schemas.js';

export interface AuditRouteDeps {
  readonly eventStore: EventStore;
}

export const NDJSON = 'application/x-ndjson';
const tags = ['audit'];
const read = { permission: 'audit:read' } as const;

/**
 * The stream a caller means. Clients name an aggregate `<category>-<id>` as they always have: for a tenant's
 * key that is its own aggregate, in its tenant-scoped stream or its legacy global one (stream-resolver.ts),
 * never another tenant's. Any other name, and every name a platform key gives, is taken literally.
 */
async function streamOfCaller(eventStore: EventStore, streamId: string, principal: Principal): Promise<string> {
  const name = parseStreamId(streamId);
  if (hasPermission(principal, PLATFORM_PERMISSION) || !name || name.tenantId !== undefined) return streamId;
  return resolveStreamId(eventStore, tenantStreamId(name.category, principal.tenantId, name.id), principal.tenantId);
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function auditView(event: RecordedEvent) {
  const meta = event.metadata;
  return {
    position: formatPosition(event.position),
    streamId: event.streamId,
    category: categoryOf(event.streamId),
    revision: Number(event.revision),
    eventId: event.id,
    type: event.type,
    occurredAt: occurredAt(event).toISOString(),
    recordedAt: event.recordedAt.toISOString(),
    tenantId: text(meta.tenantId),
    userId: text(meta.userId),
    correlationId: text(meta.correlationId),
    causationId: text(meta.causationId),
    commandId: text(meta.commandId),
    data: event.data,
    metadata: meta,
  };
}

/** The tenant the caller may see: its own, or (platform) the one it asks for, or every tenant. */
function tenantScope(request: FastifyRequest, asked: string | undefined): { tenantId?: string } | 'nothing' {
  const principal = principalOf(request);
  if (hasPermission(principal, PLATFORM_PERMISSION)) return asked ? { tenantId: asked } : {};
  // Another tenant's events do not exist for this caller: the answer is the empty one, not a 403.
  if (asked && asked !== principal.tenantId) return 'nothing';
  return { tenantId: principal.tenantId };
}

const wantsNdjson = (request: FastifyRequest) => (request.headers.accept ?? '').includes(NDJSON);

export async function auditRoutes(app: FastifyInstance, deps: AuditRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/events',
    {
      config: read,
      schema: {
        tags,
        summary: "Your tenant's events with who, when, correlation and causation (platform: every tenant's)",
        description:
          `Paged JSON by default: up to \`limit\` events and a \`next\` cursor (a page also ends after scanning ${AUDIT_SCAN_BUDGET} ` +
          `events of the log, with a cursor to go on). With \`Accept: ${NDJSON}\` the whole range is streamed, one event per line.`,
        querystring: auditEventsQuery,
        response: {
          200: {
            description: 'The events, in log order',
            content: { 'application/json': { schema: auditPage }, [NDJSON]: { schema: auditEvent } },
          },
        },
      },
    },
    async (request, reply) => {
      const { tenantId, streamId, category, eventType, userId, correlationId, causationId, from, to, after, upTo, limit } = request.query;
      const scope = tenantScope(request, tenantId);
      const filter: AuditFilter = {
        ...(scope === 'nothing' ? {} : scope),
        ...(streamId !== undefined ? { streamId: await streamOfCaller(deps.eventStore, streamId, principalOf(request)) } : {}),
        ...(category ? { categories: category } : {}),
        ...(eventType ? { eventTypes: eventType } : {}),
        ...(userId !== undefined ? { userId } : {}),
        ...(correlationId !== undefined ? { correlationId } : {}),
        ...(causationId !== undefined ? { causationId } : {}),
        ...(from ? { occurredFrom: new Date(from) } : {}),
        ...(to ? { occurredTo: new Date(to) } : {}),
      };
      const range = { ...(after ? { after: parsePosition(after)! } : {}), ...(upTo ? { upTo: parsePosition(upTo)! } : {}) };
      if (wantsNdjson(request)) {
        const lines = scope === 'nothing' ? [] : ndjsonLines(auditEvents(deps.eventStore, filter, range), limit, request);
        // Streamed with backpressure: the next page of the log is read only when the client has taken the last.
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': `${NDJSON}; charset=utf-8`, 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
        await pipeline(Readable.from(lines), reply.raw).catch((error: unknown) =>
          request.log.warn({ err: error }, 'audit stream ended early'),
        );
        return reply;
      }
      if (scope === 'nothing') return { items: [], next: null };
      const page = await readAuditPage(deps.eventStore, filter, range, { limit: limit ?? 100, scanBudget: AUDIT_SCAN_BUDGET });
      return reply.type('application/json').send({ items: page.events.map(auditView), next: page.next ? formatPosition(page.next) : null });
    },
  );

  routes.get(
    '/streams/:streamId',
    {
      config: read,
      schema: {
        tags,
        summary: "One aggregate's history: its events in order, with their metadata",
        description:
          "404 when the stream does not exist or holds none of your tenant's events. With a tenant's key, `<category>-<id>` names your aggregate of that id, whether its stream is `<category>-<tenant>-<id>` or the older `<category>-<id>`; the answer's `streamId` is the stream read.",
        params: streamParams,
        querystring: streamQuery,
        response: { 200: streamPage },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const principal = principalOf(request);
      const streamId = await streamOfCaller(deps.eventStore, request.params.streamId, principal);
      const filter: AuditFilter = {
        streamId,
        ...(hasPermission(principal, PLATFORM_PERMISSION) ? {} : { tenantId: principal.tenantId }),
      };
      const page = await readAuditPage(deps.eventStore, filter, after ? { after: parsePosition(after)! } : {}, {
        limit,
        scanBudget: AUDIT_SCAN_BUDGET,
      });
      // Missing and another tenant's read alike.
      if (!after && page.events.length === 0) throw new HttpProblem(404, 'stream.not_found', 'no such stream');
      return {
        streamId,
        category: categoryOf(streamId),
        items: page.events.map(auditView),
        next: page.next ? formatPosition(page.next) : null,
      };
    },
  );
}

/** One JSON line per event. A failure mid-stream is logged and ends the stream (the status line is sent). */
async function* ndjsonLines(events: AsyncGenerator<RecordedEvent>, limit: number | undefined, request: FastifyRequest) {
  let sent = 0;
  try {
    for await (const event of events) {
      yield `${JSON.stringify(auditView(event))}\n`;
      if (limit !== undefined && ++sent >= limit) return;
    }
  } catch (error) {
    request.log.error({ err: error }, 'audit stream failed');
    throw error;
  }
}
