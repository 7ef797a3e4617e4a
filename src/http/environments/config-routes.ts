// Configs over HTTP: create, new versions, delete, key re-wrap (rotation), reads with secrets masked.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  createConfig,
  deleteConfig,
  loadConfig,
  rewrapConfig,
  rewrapConfigTemplate,
  updateConfig,
  type ConfigCommandDeps,
} from '../../commands/environments/index.js';
import { UnknownKeyError } from '../../ports/secret-keyring.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import {
  getConfig,
  listConfigTemplates,
  listConfigs,
  listConfigVersions,
  maskedData,
} from '../../projections/environments/environment-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { PROJECTIONS } from './environment-routes.js';
import {
  changeConfigBody,
  configAccepted,
  configListQuery,
  configListResponse,
  configParams,
  configResponse,
  createConfigBody,
  oneQuery,
  rewrapResponse,
  versionListQuery,
  versionListResponse,
} from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { CONFIG_CATEGORY } from '../../domain/environments/environment-streams.js';

export interface ConfigRouteDeps {
  readonly commands: ConfigCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

const tags = ['configs'];
const write = { permission: 'configs:write' } as const;
const read = { permission: 'configs:read' } as const;

export async function configRoutes(app: FastifyInstance, deps: ConfigRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a config (configmap, secret or environment variables), in an environment or tenant-wide',
        description: 'A secret’s values are envelope-encrypted before they are recorded and are never answered in plaintext.',
        headers: commandHeaders,
        body: createConfigBody,
        response: { 201: configAccepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { body } = request;
      const configId = (body.configId ?? deterministicUuid(`config:${context.tenantId}`, context.commandId)).toLowerCase();
      const result = await createConfig(deps.commands, context, {
        configId,
        name: body.name,
        type: body.type,
        data: body.data,
        environmentId: body.environmentId ?? null,
        rollServices: body.rollServices,
      });
      reply.header('location', `/v1/configs/${configId}`);
      return reply.code(201).send({ configId, version: versionOf(result.state), ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/:configId',
    {
      config: write,
      schema: {
        tags,
        summary: 'A new version of a config (its complete data)',
        headers: commandHeaders,
        params: configParams,
        body: changeConfigBody,
        response: { 200: configAccepted },
      },
    },
    async (request, reply) => {
      const { configId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      const result = await updateConfig(deps.commands, commandContextOf(request), {
        configId,
        data: request.body.data,
        rollServices: request.body.rollServices,
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ configId, version: versionOf(result.state), ...commandAccepted(reply, result) });
    },
  );

  routes.delete(
    '/:configId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete a config (its name becomes free)',
        headers: commandHeaders,
        params: configParams,
        response: { 200: configAccepted },
      },
    },
    async (request, reply) => {
      const { configId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      const result = await deleteConfig(deps.commands, commandContextOf(request), {
        configId,
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ configId, version: versionOf(result.state), ...commandAccepted(reply, result) });
    },
  );

  routes.post(
    '/rewrap',
    {
      config: write,
      schema: {
        tags,
        summary:
          'Re-wrap every secret’s data keys (secret configs and secret config templates) with the current key-encryption key (after rotating SECRETS_KEY)',
        description:
          'Run once per tenant after setting a new SECRETS_KEY with the old one in SECRETS_KEY_PREVIOUS; then the old key can go.',
        headers: commandHeaders,
        response: { 200: rewrapResponse },
      },
    },
    async (request) => {
      const context = commandContextOf(request);
      let configs = 0;
      let versions = 0;
      let templates = 0;
      const failed: { configId?: string; templateId?: string; reason: string }[] = [];
      for (let page = 1; ; page++) {
        const { items, hasNext } = await listConfigs(deps.db.kysely, context.tenantId, { type: 'secret', page, pageSize: 100 });
        for (const { configId } of items) {
          try {
            const count = await rewrapConfig(
              deps.commands,
              { ...context, commandId: deterministicUuid(context.commandId, configId) },
              configId,
            );
            if (count > 0) configs++;
            versions += count;
          } catch (error) {
            if (!(error instanceof UnknownKeyError)) throw error;
            failed.push({ configId, reason: error.message });
          }
        }
        if (!hasNext) break;
      }
      for (let page = 1; ; page++) {
        const { items, hasNext } = await listConfigTemplates(deps.db.kysely, context.tenantId, {
          configType: 'secret',
          page,
          pageSize: 100,
        });
        for (const { templateId } of items) {
          try {
            const rewrapped = await rewrapConfigTemplate(
              deps.commands,
              { ...context, commandId: deterministicUuid(context.commandId, `template:${templateId}`) },
              templateId,
            );
            if (rewrapped) templates++;
          } catch (error) {
            if (!(error instanceof UnknownKeyError)) throw error;
            failed.push({ templateId, reason: error.message });
          }
        }
        if (!hasNext) break;
      }
      return { configs, versions, templates, failed };
    },
  );

  routes.get(
    '/:configId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One config, a secret’s values masked (ETag = revision); asOf shows the version current then',
        params: configParams,
        querystring: oneQuery,
        response: { 200: configResponse },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      const { configId } = request.params;
      if (request.query.asOf) {
        const past = await loadConfig(deps.commands, tenantId, configId, request.query.asOf);
        if (!past) throw new HttpProblem(404, 'config.not_found', 'no such config at that moment');
        const { state, events } = past;
        const current = state.versions.at(-1)!;
        setEtag(reply, past.revision);
        return reply.send({
          configId: state.configId,
          name: state.name,
          environmentId: state.environmentId,
          type: state.type,
          version: state.version,
          rollServices: Boolean(events.findLast((e) => e.type === 'ConfigCreated' || e.type === 'ConfigUpdated')?.data.rollServices),
          keys: current.keys,
          data: maskedData(state.type, current.keys, current.data ?? null),
          revision: Number(past.revision),
          createdAt: new Date(String(events[0]!.metadata.occurredAt)).toISOString(),
          updatedAt: new Date(String(events.at(-1)!.metadata.occurredAt)).toISOString(),
          createdBy: String(events[0]!.metadata.userId),
          updatedBy: String(events.at(-1)!.metadata.userId),
        });
      }
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getConfig(deps.db.kysely, tenantId, configId);
      if (!found) throw notFoundOf(CONFIG_CATEGORY);
      setEtag(reply, found.revision);
      return reply.send(found as never);
    },
  );

  routes.get(
    '/:configId/versions',
    {
      config: read,
      schema: {
        tags,
        summary: 'A config’s versions, newest first (secrets masked)',
        params: configParams,
        querystring: versionListQuery,
        response: { 200: versionListResponse },
      },
    },
    async (request) => {
      const { minPosition, ...page } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      const { tenantId } = principalOf(request);
      const found = await getConfig(deps.db.kysely, tenantId, request.params.configId);
      if (!found) throw notFoundOf(CONFIG_CATEGORY);
      return listConfigVersions(deps.db.kysely, tenantId, found.configId, found.type, page);
    },
  );

  routes.get(
    '',
    {
      config: read,
      schema: {
        tags,
        summary: 'List your tenant’s configs by name (secrets masked)',
        querystring: configListQuery,
        response: { 200: configListResponse },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listConfigs(deps.db.kysely, principalOf(request).tenantId, filter) as never;
    },
  );
}

const versionOf = (state: { status: string; version?: number }) => ('version' in state && state.version !== undefined ? state.version : 0);
