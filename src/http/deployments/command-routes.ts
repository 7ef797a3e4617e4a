// Deployment commands over HTTP (202 Accepted: the reconciler does the work; follow it with GET …/status
// or the SSE stream). ETag/If-Match and Idempotency-Key as everywhere; another tenant's deployment is 404.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  deploy,
  lifecycle,
  rollbackDeployment,
  scaleService,
  updateDeployment,
  type DeploymentCommandDeps,
  type DeploymentCommandResult,
} from '../../commands/deployments/deployment-handlers.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import { statusOf } from '../../domain/deployments/index.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom } from '../preconditions.js';
import { accepted, deployBody, idParams, lifecycleBody, rollbackBody, scaleBody, updateBody } from './schemas.js';

export interface DeploymentCommandRouteDeps {
  readonly commands: DeploymentCommandDeps;
  /** Told of manual rollbacks (metrics). */
  readonly onRollback?: (automatic: boolean) => void;
}

const tags = ['deployments'];
const write = { permission: 'deployments:write', problems: [404, 409, 422] } as const;

function answer(reply: FastifyReply, deploymentId: string, result: DeploymentCommandResult, code = 202) {
  const state = result.state;
  const body = {
    deploymentId,
    release: state.status === 'exists' ? state.desired : 0,
    status: state.status === 'exists' ? statusOf(state) : 'deleted',
    ...commandAccepted(reply, result),
  };
  return reply.code(code).send(body);
}

export async function deploymentCommandRoutes(app: FastifyInstance, deps: DeploymentCommandRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const target = (request: { params: { deploymentId: string } } & Parameters<typeof expectedRevisionFrom>[0]) => {
    const expectedRevision = expectedRevisionFrom(request);
    return { deploymentId: request.params.deploymentId.toLowerCase(), ...(expectedRevision !== undefined ? { expectedRevision } : {}) };
  };

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Deploy an application into an environment (release 1)',
        headers: commandHeaders,
        body: deployBody,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const deploymentId = (
        request.body.deploymentId ?? deterministicUuid(`deployment:${context.tenantId}`, context.commandId)
      ).toLowerCase();
      const result = await deploy(deps.commands, context, { ...request.body, deploymentId });
      reply.header('location', `/v1/deployments/${deploymentId}`);
      return answer(reply, deploymentId, result);
    },
  );

  routes.post(
    '/:deploymentId/releases',
    {
      config: write,
      schema: {
        tags,
        summary: 'Update: a new release with a new spec',
        headers: commandHeaders,
        params: idParams,
        body: updateBody,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const input = target(request);
      const result = await updateDeployment(deps.commands, commandContextOf(request), { ...input, ...request.body });
      return answer(reply, input.deploymentId, result);
    },
  );

  routes.post(
    '/:deploymentId/rollback',
    {
      config: write,
      schema: {
        tags,
        summary: 'Roll back to an earlier release (default: the previous good one)',
        headers: commandHeaders,
        params: idParams,
        body: rollbackBody,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const input = target(request);
      const result = await rollbackDeployment(deps.commands, commandContextOf(request), { ...input, ...(request.body ?? {}) });
      if (!result.idempotent && result.events.some((e) => e.type === 'DeploymentRolledBack')) deps.onRollback?.(false);
      return answer(reply, input.deploymentId, result);
    },
  );

  routes.post(
    '/:deploymentId/scale',
    {
      config: write,
      schema: {
        tags,
        summary: 'Scale one service (a release that changes only its replicas)',
        headers: commandHeaders,
        params: idParams,
        body: scaleBody,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const input = target(request);
      const result = await scaleService(deps.commands, commandContextOf(request), { ...input, ...request.body });
      return answer(reply, input.deploymentId, result);
    },
  );

  for (const [path, action] of [
    ['start', 'Start'],
    ['stop', 'Stop'],
    ['restart', 'Restart'],
  ] as const) {
    routes.post(
      `/:deploymentId/${path}`,
      {
        config: write,
        schema: {
          tags,
          summary: `${action} the deployment's services${action === 'Restart' ? ' (all, or those named)' : ''}`,
          headers: commandHeaders,
          params: idParams,
          body: lifecycleBody,
          response: { 202: accepted },
        },
      },
      async (request, reply) => {
        const input = target(request);
        const body = request.body ?? {};
        const result = await lifecycle(deps.commands, commandContextOf(request), action, {
          ...input,
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          ...(action === 'Restart' && body.services ? { services: body.services } : {}),
        });
        return answer(reply, input.deploymentId, result);
      },
    );
  }

  routes.delete(
    '/:deploymentId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete the deployment: its services are removed',
        headers: commandHeaders,
        params: idParams,
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const input = target(request);
      const result = await lifecycle(deps.commands, commandContextOf(request), 'Delete', input);
      return answer(reply, input.deploymentId, result);
    },
  );
}
