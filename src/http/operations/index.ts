// Liveness, readiness, metrics and projection administration.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HorizonProbe, StoreHorizon } from '../../ports/store-horizon.js';
import type { Metrics } from '../../ports/metrics.js';
import { formatPosition } from '../../ports/event-store.js';
import { PLATFORM_PERMISSION } from '../../domain/principal.js';
import type { ProjectionEngine, ProjectionStatus } from '../../projections/projector.js';
import { parkedCountsSchema, parkedRoutes, type ParkedWork } from './parked-routes.js';

export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<void>;
}

/** A threshold a feature watches (e.g. the batch failure rate): shown in `/ready`, never a readiness failure. */
export interface Alert {
  readonly name: string;
  readonly firing: boolean;
  readonly value: number;
  readonly threshold: number;
}

export interface AlertSource {
  readonly name: string;
  readonly alerts: () => Promise<readonly Alert[]>;
}

export interface OperationsDeps {
  readonly metrics: Metrics;
  readonly projections: ProjectionEngine;
  readonly checks: readonly ReadinessCheck[];
  readonly alerts?: readonly AlertSource[];
  readonly version: string;
  /** The SQL store's visibility horizon (absent on EventStoreDB, which has none). */
  readonly horizon?: { readonly probe: Pick<HorizonProbe, 'horizon'>; readonly degradedAfterSeconds: number };
  /** Parked events and jobs: counted in `/ready` and `/metrics`, listed and retried under /v1/admin/parked. */
  readonly parked?: ParkedWork;
}

const CHECK_TIMEOUT_MS = 2000;

/** Every source `/ready` and `/metrics` ask is bounded: a backing service that hangs (Redis down under BullMQ's
 * retry-forever client) must not hang the probe. */
function withinCheckTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref(),
    ),
  ]);
}

async function runCheck(check: ReadinessCheck): Promise<{ name: string; ok: boolean; error?: string; ms: number }> {
  const started = performance.now();
  try {
    await withinCheckTimeout(check.check());
    return { name: check.name, ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { name: check.name, ok: false, error: (error as Error).message, ms: Math.round(performance.now() - started) };
  }
}

const projectionView = (status: ProjectionStatus) => ({
  name: status.name,
  state: status.state,
  checkpoint: formatPosition(status.checkpoint),
  head: formatPosition(status.head),
  eventsBehind: status.eventsBehind,
  secondsBehind: status.secondsBehind,
  ...(status.lastError ? { lastError: status.lastError } : {}),
});

const projectionSchema = z.object({
  name: z.string(),
  state: z.string(),
  checkpoint: z.string(),
  head: z.string(),
  eventsBehind: z.number(),
  secondsBehind: z.number(),
  lastError: z.string().optional(),
});

const horizonSchema = z.object({ oldestTransactionSeconds: z.number(), eventsAboveHorizon: z.number(), degraded: z.boolean() });

const readySchema = z.object({
  ready: z.boolean(),
  /** True while a long-open transaction holds subscribers back: serving, but reads trail writes. */
  degraded: z.boolean(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), error: z.string().optional(), ms: z.number() })),
  horizon: horizonSchema.optional(),
  /** Features' alert thresholds (batch failure rate, backlog): a firing one degrades, never fails, readiness. */
  alerts: z.array(z.object({ name: z.string(), firing: z.boolean(), value: z.number(), threshold: z.number() })),
  /** Parked events and jobs (see /v1/admin/parked): any degrades readiness, never fails it (the rest go on). */
  parked: parkedCountsSchema.optional(),
  projections: z.array(projectionSchema),
});

// The body is Prometheus text, not JSON: documented under its own media type.
const metricsText = { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } };

export async function operationsRoutes(app: FastifyInstance, deps: OperationsDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  /** Undefined without a SQL store or when the database does not answer (the checks report that). */
  async function readHorizon(): Promise<(StoreHorizon & { degraded: boolean }) | undefined> {
    if (!deps.horizon) return undefined;
    const horizon = await withinCheckTimeout(deps.horizon.probe.horizon()).catch(() => undefined);
    return horizon && { ...horizon, degraded: horizon.oldestTransactionSeconds > deps.horizon.degradedAfterSeconds };
  }

  /** A source that does not answer is left out (its own metrics and checks report why). */
  /** Undefined when the counts cannot be read (the database checks report why). */
  const readParked = async () => (deps.parked ? withinCheckTimeout(deps.parked.counts()).catch(() => undefined) : undefined);

  async function readAlerts(): Promise<Alert[]> {
    const lists = await Promise.all(
      (deps.alerts ?? []).map((source) => withinCheckTimeout(source.alerts()).catch(() => [] as readonly Alert[])),
    );
    return lists.flat();
  }

  routes.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        security: [],
        response: { 200: z.object({ status: z.literal('ok'), version: z.string() }) },
      },
    },
    async () => ({
      status: 'ok' as const,
      version: deps.version,
    }),
  );

  routes.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: each backing service and each projection with its lag',
        security: [],
        response: {
          200: readySchema,
          503: readySchema,
        },
      },
    },
    async (_request, reply) => {
      const [checks, statuses, horizon, alerts, parked] = await Promise.all([
        Promise.all(deps.checks.map(runCheck)),
        deps.projections.status().catch(() => []),
        readHorizon(),
        readAlerts(),
        readParked(),
      ]);
      const projections = statuses.map(projectionView);
      // A lagging projection is reported, not fatal: it catches up. A failed one needs an operator.
      const ready = checks.every((c) => c.ok) && statuses.every((s) => s.state !== 'failed');
      // A held-back horizon degrades without failing readiness: every instance shares it, and taking them
      // all out of rotation would turn stale reads into no service at all.
      // So does a firing alert: a failing batch says nothing about whether this instance can serve.
      // So does parked work: it was set aside precisely so that everything else goes on.
      const degraded =
        (horizon?.degraded ?? false) || alerts.some((alert) => alert.firing) || (parked !== undefined && parked.events + parked.jobs > 0);
      return reply
        .code(ready ? 200 : 503)
        .send({ ready, degraded, checks, ...(horizon ? { horizon } : {}), alerts, ...(parked ? { parked } : {}), projections });
    },
  );

  routes.get(
    '/metrics',
    {
      config: { public: true },
      schema: { tags: ['operations'], summary: 'Prometheus metrics', security: [], response: { 200: metricsText } },
    },
    async (_request, reply) => {
      const [statuses, horizon, parked] = await Promise.all([deps.projections.status().catch(() => []), readHorizon(), readParked()]);
      if (parked) {
        deps.metrics.parkedItems.set({ kind: 'event' }, parked.events);
        deps.metrics.parkedItems.set({ kind: 'job' }, parked.jobs);
      }
      if (horizon) {
        deps.metrics.horizonOldestTransactionSeconds.set(horizon.oldestTransactionSeconds);
        deps.metrics.horizonEventsAbove.set(horizon.eventsAboveHorizon);
      }
      for (const status of statuses) {
        deps.metrics.projectionEventsBehind.set({ projection: status.name }, status.eventsBehind);
        deps.metrics.projectionSecondsBehind.set({ projection: status.name }, status.secondsBehind);
      }
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  );

  routes.get(
    '/v1/admin/projections',
    {
      config: { permission: PLATFORM_PERMISSION },
      schema: {
        tags: ['operations'],
        summary: 'Projection states and lag (platform: projections and heads are shared by every tenant)',
        response: { 200: z.object({ projections: z.array(projectionSchema) }) },
      },
    },
    async () => ({ projections: (await deps.projections.status()).map(projectionView) }),
  );

  if (deps.parked) await app.register(parkedRoutes, { parked: deps.parked });

  routes.post(
    '/v1/admin/projections/:name/rebuild',
    {
      // platform, not admin: a projection holds every tenant's rows, so a rebuild affects all of them.
      config: { permission: PLATFORM_PERMISSION, problems: [409] },
      schema: {
        tags: ['operations'],
        summary: 'Rebuild a projection from position 0 into fresh tables, then swap them in',
        description:
          'Returns 202 at once; readers keep the old tables until the swap. 409 `rebuild.in_progress` while a rebuild of it runs on any instance.',
        params: z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/) }),
        response: { 202: z.object({ projection: z.string(), state: z.literal('rebuilding') }) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      // Resolves once this instance holds the database-wide rebuild lock: a rebuild running on any
      // instance makes this a 409 (RebuildInProgressError) before anything is touched.
      const { finished } = await deps.projections.startRebuild(name);
      finished.catch((error: unknown) => request.log.error({ err: error, projection: name }, 'projection rebuild failed'));
      return reply.code(202).send({ projection: name, state: 'rebuilding' as const });
    },
  );
}
