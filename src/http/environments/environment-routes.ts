// Environments over HTTP: commands (ETag/If-Match, Idempotency-Key) and queries (read-your-writes, asOf).
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  createEnvironment,
  deleteEnvironment,
  environmentAsOf,
  updateEnvironment,
  type EnvironmentChanges,
  type EnvironmentCommandDeps,
} from '../../commands/environments/index.js';
import { DEFAULT_FLAGS, defaultTarget, type EnvironmentSettings } from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getEnvironment, listEnvironments } from '../../projections/environments/environment-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import {
  changeEnvironmentBody,
  createEnvironmentBody,
  deleteEnvironmentQuery,
  environmentAccepted,
  environmentListQuery,
  environmentListResponse,
  environmentParams,
  environmentResponse,
  oneQuery,
} from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { ENVIRONMENT_CATEGORY } from '../../domain/environments/environment-streams.js';

export interface EnvironmentRouteDeps {
  readonly commands: EnvironmentCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

export const PROJECTIONS = ['environments'] as const;
const tags = ['environments'];
const write = { permission: 'environments:write' } as const;
const read = { permission: 'environments:read' } as const;

/** Optional fields of a group without their undefined members (events hold JSON). */
const defined = <T extends object>(group: T | undefined): T =>
  Object.fromEntries(Object.entries(group ?? {}).filter(([, v]) => v !== undefined)) as T;

/** The audit fields of a state folded from its events (asOf). */
function auditOf(events: readonly RecordedEvent[]) {
  const first = events[0]!;
  const last = events.at(-1)!;
  return {
    revision: Number(last.revision),
    createdAt: new Date(String(first.metadata.occurredAt)).toISOString(),
    updatedAt: new Date(String(last.metadata.occurredAt)).toISOString(),
    createdBy: String(first.metadata.userId),
    updatedBy: String(last.metadata.userId),
  };
}

export async function environmentRoutes(app: FastifyInstance, deps: EnvironmentRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create an environment (name unique per tenant; target unique per tenant and orchestrator)',
        description:
          'An environment is logical: it may name an orchestrator that is not reachable now; deploying to it is what is refused.',
        headers: commandHeaders,
        body: createEnvironmentBody,
        response: { 201: environmentAccepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const body = request.body;
      // Without an explicit id, a retried request (same Idempotency-Key) must address the same stream.
      const environmentId = (body.environmentId ?? deterministicUuid(`environment:${context.tenantId}`, context.commandId)).toLowerCase();
      const settings: EnvironmentSettings = {
        name: body.name,
        type: body.type,
        orchestrator: body.orchestrator,
        target: body.target ?? defaultTarget(body.name, environmentId),
        flags: { ...DEFAULT_FLAGS, ...defined(body.flags) },
        quotas: defined(body.quotas),
        networking: defined(body.networking),
        security: defined(body.security),
      };
      const result = await createEnvironment(deps.commands, context, { environmentId, settings });
      reply.header('location', `/v1/environments/${environmentId}`);
      return reply.code(201).send({ environmentId, ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/:environmentId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Change an environment (groups merge field by field; null removes a field; orchestrator and target cannot change)',
        headers: commandHeaders,
        params: environmentParams,
        body: changeEnvironmentBody,
        response: { 200: environmentAccepted },
      },
    },
    async (request, reply) => {
      const { environmentId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      const result = await updateEnvironment(deps.commands, commandContextOf(request), {
        environmentId,
        changes: request.body as EnvironmentChanges,
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ environmentId, ...commandAccepted(reply, result) });
    },
  );

  routes.delete(
    '/:environmentId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete an environment; refused (409) while deployments run in it unless force=true',
        headers: commandHeaders,
        params: environmentParams,
        querystring: deleteEnvironmentQuery,
        response: { 200: environmentAccepted },
      },
    },
    async (request, reply) => {
      const { environmentId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      try {
        const result = await deleteEnvironment(deps.commands, commandContextOf(request), {
          environmentId,
          force: request.query.force,
          ...(expectedRevision !== undefined ? { expectedRevision } : {}),
        });
        return reply.send({ environmentId, ...commandAccepted(reply, result) });
      } catch (error) {
        if (error instanceof RuleViolation && error.rule === 'environment.has_deployments')
          throw new HttpProblem(409, error.rule, error.message, {
            rule: error.rule,
            errors: [{ field: 'query.force', rule: error.rule, message: error.message }],
          });
        throw error;
      }
    },
  );

  routes.get(
    '/:environmentId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One environment (ETag = revision); asOf folds its history up to a moment',
        params: environmentParams,
        querystring: oneQuery,
        response: { 200: environmentResponse },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const { environmentId } = request.params;
      if (request.query.asOf) {
        const past = await environmentAsOf(deps.commands, { tenantId }, environmentId, request.query.asOf);
        if (!past) throw new HttpProblem(404, 'environment.not_found', 'no such environment at that moment');
        const { state } = past;
        setEtag(reply, past.revision);
        return reply.send({
          environmentId: state.environmentId,
          ...state.settings,
          status: state.status,
          ...(state.reason ? { reason: state.reason } : {}),
          ...auditOf(past.events),
        });
      }
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getEnvironment(deps.db.kysely, tenantId, environmentId);
      if (!found) throw notFoundOf(ENVIRONMENT_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found as never);
    },
  );

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'List your tenant’s environments by name, a page at a time',
        querystring: environmentListQuery,
        response: { 200: environmentListResponse },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listEnvironments(deps.db.kysely, principalOf(request).tenantId, filter) as never;
    },
  );
}
