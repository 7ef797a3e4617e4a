// GET /v1/orchestrators: which orchestrators this service is configured for and whether they answer now, so a
// user sees why a deployment to one would be refused and what to set (DOCKER_HOST, KUBECONFIG).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OrchestratorRegistry } from '../../ports/orchestrator.js';

export interface OrchestratorRouteDeps {
  readonly orchestrators: OrchestratorRegistry;
}

export const ORCHESTRATORS_PREFIX = '/v1/orchestrators';

const reachability = z
  .object({
    kind: z.enum(['docker', 'kubernetes']),
    configured: z.boolean().describe('its setting (DOCKER_HOST, KUBECONFIG) is present'),
    reachable: z.boolean().describe('it answered just now'),
    detail: z.string().optional().describe('the engine and version when reachable; what to set, or why it does not answer, otherwise'),
  })
  .meta({ id: 'OrchestratorReachability' });

const orchestratorsResponse = z.object({ orchestrators: z.array(reachability) }).meta({ id: 'Orchestrators' });

export async function orchestratorRoutes(app: FastifyInstance, deps: OrchestratorRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    ORCHESTRATORS_PREFIX,
    {
      config: { permission: 'deployments:read' },
      schema: {
        tags: ['deployments'],
        summary: 'Which orchestrators (Docker, Kubernetes) are configured and reachable',
        response: { 200: orchestratorsResponse },
      },
    },
    async () => ({ orchestrators: await deps.orchestrators.status() }),
  );
}
