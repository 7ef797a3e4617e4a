// Deployment queries over HTTP: from the read model (with read-your-writes), `?asOf=` from the stream, and
// /health live from the orchestrator. Every answer is the caller's tenant's; anything else is 404.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { loadAggregate, type CommandDeps } from '../../commands/handle-command.js';
import { deploymentDecider, deploymentStreamId, describeChanges, statusOf } from '../../domain/deployments/index.js';
import type { OrchestratorRegistry } from '../../ports/orchestrator.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getDeployment, listDeployments, listReleases } from '../../projections/deployments/deployment-queries.js';
import { deploymentView as viewOf } from '../../projections/deployments/deployment-view.js';
import { principalOf } from '../auth.js';
import { setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import {
  deploymentResponse,
  diffQuery,
  diffResponse,
  healthResponse,
  idParams,
  listQuery,
  listResponse,
  oneQuery,
  releaseParams,
  releaseResponse,
  statusResponse,
} from './schemas.js';
import { z } from 'zod';
import { notFoundOf } from '../../domain/not-found.js';
import { DEPLOYMENT_CATEGORY } from '../../domain/deployments/deployment-streams.js';

export interface DeploymentQueryRouteDeps {
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
  readonly commands: CommandDeps;
  readonly orchestrators: OrchestratorRegistry;
}

const PROJECTIONS = ['deployments'] as const;
const tags = ['deployments'];
const read = { permission: 'deployments:read' } as const;
// The response schema checks the view's shape; the view itself is built as plain JSON.
const deploymentView = (...args: Parameters<typeof viewOf>) => viewOf(...args) as never as z.infer<typeof deploymentResponse>;
const notFound = () => notFoundOf(DEPLOYMENT_CATEGORY);

export async function deploymentQueryRoutes(app: FastifyInstance, deps: DeploymentQueryRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const one = async (tenantId: string, deploymentId: string, minPosition?: string) => {
    await deps.readYourWrites.await(minPosition, PROJECTIONS);
    const found = await getDeployment(deps.db.kysely, tenantId, deploymentId);
    if (!found) throw notFound();
    return found;
  };

  routes.get(
    '',
    {
      config: read,
      schema: { tags, summary: "The tenant's deployments, by name", querystring: listQuery, response: { 200: listResponse } },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      const page = await listDeployments(deps.db.kysely, principalOf(request).tenantId, filter);
      return { ...page, items: page.items.map((d) => deploymentView(d.state, d.meta)) };
    },
  );

  routes.get(
    '/:deploymentId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One deployment with its current and previous release (ETag = revision); ?asOf= shows it at a past instant',
        params: idParams,
        querystring: oneQuery,
        response: { 200: deploymentResponse },
      },
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      if (request.query.asOf) {
        const asOf = new Date(request.query.asOf);
        const loaded = await loadAggregate(deps.commands, deploymentDecider, deploymentStreamId(tenantId, request.params.deploymentId), {
          tenantId,
          asOf,
        }).catch(() => undefined);
        const first = loaded?.events[0];
        const last = loaded?.events.at(-1);
        if (!loaded || loaded.state.status !== 'exists' || !first || !last) throw notFound();
        return reply.send(
          deploymentView(loaded.state, {
            revision: Number(last.revision),
            createdAt: String(first.metadata.occurredAt),
            updatedAt: String(last.metadata.occurredAt),
            createdBy: String(first.metadata.userId),
            updatedBy: String(last.metadata.userId),
          }),
        );
      }
      const found = await one(tenantId, request.params.deploymentId, request.query.minPosition);
      setEtag(reply, found.meta.revision);
      return reply.send(deploymentView(found.state, found.meta));
    },
  );

  routes.get(
    '/:deploymentId/status',
    {
      config: read,
      schema: {
        tags,
        summary: 'Status, per-service replicas and conditions, the running rollout, drift',
        params: idParams,
        querystring: oneQuery.pick({ minPosition: true }),
        response: { 200: statusResponse },
      },
    },
    async (request, reply) => {
      const found = await one(principalOf(request).tenantId, request.params.deploymentId, request.query.minPosition);
      const view = deploymentView(found.state, found.meta);
      setEtag(reply, found.meta.revision);
      return reply.send({
        deploymentId: found.state.deploymentId,
        status: statusOf(found.state),
        services: view.services as never,
        rollout: view.rollout ?? null,
        lastRollout: view.lastRollout ?? null,
        drift: view.drift ?? null,
      });
    },
  );

  routes.get(
    '/:deploymentId/health',
    {
      config: read,
      schema: {
        tags,
        summary: 'Live health of every instance, asked of the orchestrator now',
        params: idParams,
        response: { 200: healthResponse },
      },
    },
    async (request) => {
      const tenantId = principalOf(request).tenantId;
      const { state } = await one(tenantId, request.params.deploymentId);
      const orchestrator = deps.orchestrators.get(state.orchestrator);
      const base = { deploymentId: state.deploymentId, instances: [] as never[] };
      if (!orchestrator) return { ...base, reachable: false, healthy: false, detail: `${state.orchestrator} is not configured` };
      try {
        const instances = await orchestrator.observe({ tenantId, environmentId: state.environmentId, deploymentId: state.deploymentId });
        const healthy =
          instances.length > 0 && instances.every((i) => i.state === 'running' && (i.health === 'healthy' || i.health === 'none'));
        return { deploymentId: state.deploymentId, reachable: true, healthy, instances: instances.map(({ deploymentId: _d, ...i }) => i) };
      } catch (error) {
        request.log.warn({ err: error }, 'orchestrator unreachable for a health check');
        return { ...base, reachable: false, healthy: false, detail: 'the orchestrator did not answer' };
      }
    },
  );

  routes.get(
    '/:deploymentId/releases',
    {
      config: read,
      schema: {
        tags,
        summary: 'Release history: who, when, what changed, why, and how it went',
        params: idParams,
        querystring: oneQuery.pick({ minPosition: true }),
        response: { 200: z.object({ items: z.array(releaseResponse) }) },
      },
    },
    async (request) => {
      const tenantId = principalOf(request).tenantId;
      await one(tenantId, request.params.deploymentId, request.query.minPosition);
      return { items: await listReleases(deps.db.kysely, tenantId, request.params.deploymentId) };
    },
  );

  routes.get(
    '/:deploymentId/releases/diff',
    {
      config: read,
      schema: {
        tags,
        summary: 'What changed between any two releases',
        params: idParams,
        querystring: diffQuery,
        response: { 200: diffResponse },
      },
    },
    async (request) => {
      const tenantId = principalOf(request).tenantId;
      await one(tenantId, request.params.deploymentId, request.query.minPosition);
      const releases = await listReleases(deps.db.kysely, tenantId, request.params.deploymentId);
      const { from, to } = request.query;
      const [a, b] = [releases.find((r) => r.release === from), releases.find((r) => r.release === to)];
      if (!a)
        throw new HttpProblem(404, 'deployment.release.not_found', `release ${from} does not exist`, {
          errors: [{ field: 'query.from', rule: 'release.exists', message: 'no such release' }],
        });
      if (!b)
        throw new HttpProblem(404, 'deployment.release.not_found', `release ${to} does not exist`, {
          errors: [{ field: 'query.to', rule: 'release.exists', message: 'no such release' }],
        });
      const version = a.version === b.version ? [] : [`version: ${a.version} → ${b.version}`];
      return { from, to, changes: [...version, ...describeChanges(a.services, b.services)] };
    },
  );

  routes.get(
    '/:deploymentId/releases/:release',
    {
      config: read,
      schema: { tags, summary: 'One release with its full spec', params: releaseParams, response: { 200: releaseResponse } },
    },
    async (request) => {
      const tenantId = principalOf(request).tenantId;
      await one(tenantId, request.params.deploymentId);
      const found = (await listReleases(deps.db.kysely, tenantId, request.params.deploymentId)).find(
        (r) => r.release === request.params.release,
      );
      if (!found) throw new HttpProblem(404, 'deployment.release.not_found', `release ${request.params.release} does not exist`);
      return found;
    },
  );
}
