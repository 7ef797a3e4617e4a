// Config templates over HTTP: CRUD, render into a config (or a dry run), and validation of variables or of
// any config against a schema, with warnings for risky values.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import {
  createConfig,
  createConfigTemplate,
  deleteConfigTemplate,
  renderTemplate,
  updateConfig,
  updateConfigTemplate,
  type ConfigCommandDeps,
} from '../../commands/environments/index.js';
import { checkAgainstSchema, riskyConfig, validVariables, type ConfigTemplateDefinition } from '../../domain/environments/index.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { getConfigTemplate, listConfigTemplates, maskedData } from '../../projections/environments/environment-queries.js';
import { principalOf } from '../auth.js';
import { commandAccepted, commandContextOf } from '../command-context.js';
import { commandHeaders, expectedRevisionFrom, setEtag } from '../preconditions.js';
import { HttpProblem } from '../problem.js';
import type { ReadYourWrites } from '../read-your-writes.js';
import { PROJECTIONS } from './environment-routes.js';
import {
  changeTemplateBody,
  createTemplateBody,
  oneQuery,
  renderBody,
  renderResponse,
  templateAccepted,
  templateListQuery,
  templateListResponse,
  templateParams,
  templateResponse,
  validateBody,
  validateTemplateBody,
  validationResponse,
} from './schemas.js';
import { notFoundOf } from '../../domain/not-found.js';
import { CONFIG_TEMPLATE_CATEGORY } from '../../domain/environments/environment-streams.js';

export interface TemplateRouteDeps {
  readonly commands: ConfigCommandDeps;
  readonly db: SqlDatabase;
  readonly readYourWrites: ReadYourWrites;
}

const tags = ['config-templates'];
const write = { permission: 'configs:write' } as const;
const read = { permission: 'configs:read' } as const;

/** Variables as events hold them: optional fields absent rather than undefined. */
const cleanVariables = (variables: ConfigTemplateDefinition['variables']) =>
  variables.map(
    (v) =>
      Object.fromEntries(Object.entries(v).filter(([, value]) => value !== undefined)) as ConfigTemplateDefinition['variables'][number],
  );

export async function configTemplateRoutes(app: FastifyInstance, deps: TemplateRouteDeps): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a config template',
        headers: commandHeaders,
        body: createTemplateBody,
        response: { 201: templateAccepted },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { templateId: given, ...definition } = request.body;
      const templateId = (given ?? deterministicUuid(`configtemplate:${context.tenantId}`, context.commandId)).toLowerCase();
      const result = await createConfigTemplate(deps.commands, context, {
        templateId,
        definition: { ...definition, variables: cleanVariables(definition.variables) },
      });
      reply.header('location', `/v1/config-templates/${templateId}`);
      return reply.code(201).send({ templateId, ...commandAccepted(reply, result) });
    },
  );

  routes.patch(
    '/:templateId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Change a config template',
        headers: commandHeaders,
        params: templateParams,
        body: changeTemplateBody,
        response: { 200: templateAccepted },
      },
    },
    async (request, reply) => {
      const { templateId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      const { variables, ...rest } = request.body;
      const changes = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<ConfigTemplateDefinition>;
      const result = await updateConfigTemplate(deps.commands, commandContextOf(request), {
        templateId,
        changes: { ...changes, ...(variables ? { variables: cleanVariables(variables) } : {}) },
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ templateId, ...commandAccepted(reply, result) });
    },
  );

  routes.delete(
    '/:templateId',
    {
      config: write,
      schema: {
        tags,
        summary: 'Delete a config template',
        headers: commandHeaders,
        params: templateParams,
        response: { 200: templateAccepted },
      },
    },
    async (request, reply) => {
      const { templateId } = request.params;
      const expectedRevision = expectedRevisionFrom(request);
      const result = await deleteConfigTemplate(deps.commands, commandContextOf(request), {
        templateId,
        ...(expectedRevision !== undefined ? { expectedRevision } : {}),
      });
      return reply.send({ templateId, ...commandAccepted(reply, result) });
    },
  );

  routes.post(
    '/:templateId/render',
    {
      config: write,
      schema: {
        tags,
        summary: 'Render the template with variables into a new config, a new version of one (configId), or nothing (dryRun)',
        description:
          'Variables that are missing, ill-typed or off-pattern are a 400 naming `body.variables.<name>`; nothing is written. A secret template answers its data masked and its warnings name only `data.<key>` and the rule; rendering into a config of another type is a 422 `config.type.mismatch`.',
        headers: commandHeaders,
        params: templateParams,
        body: renderBody,
        response: { 200: renderResponse, 201: renderResponse },
      },
    },
    async (request, reply) => {
      const context = commandContextOf(request);
      const { body } = request;
      const rendering = await renderTemplate(deps.commands, context.tenantId, request.params.templateId, body.variables);
      const { definition, data, errors, warnings } = rendering;
      if (errors.length > 0)
        throw new HttpProblem(400, 'config_template.render', 'the variables do not satisfy the template', {
          errors: errors.map((e) => ({ ...e, field: `body.${e.field}` })),
        });
      const shown = maskedData(definition.configType, Object.keys(data).sort(), definition.configType === 'secret' ? null : data);
      if (body.dryRun) return reply.send({ data: shown, warnings });
      if (body.configId) {
        const result = await updateConfig(deps.commands, context, {
          configId: body.configId,
          data,
          rollServices: body.rollServices,
          type: definition.configType,
        });
        const version = result.state.status === 'absent' ? 0 : result.state.version;
        return reply.send({ configId: body.configId, version, ...commandAccepted(reply, result), data: shown, warnings });
      }
      if (!body.name)
        throw new HttpProblem(400, 'config_template.render.name', 'give the name of the config to create (or configId, or dryRun)', {
          errors: [{ field: 'body.name', rule: 'required', message: 'name is required unless configId or dryRun is given' }],
        });
      const configId = deterministicUuid(`config:${context.tenantId}`, context.commandId);
      const result = await createConfig(deps.commands, context, {
        configId,
        name: body.name,
        type: definition.configType,
        data,
        environmentId: body.environmentId ?? null,
        rollServices: body.rollServices,
      });
      reply.header('location', `/v1/configs/${configId}`);
      return reply.code(201).send({ configId, version: 1, ...commandAccepted(reply, result), data: shown, warnings });
    },
  );

  routes.post(
    '/:templateId/validate',
    {
      config: read,
      schema: {
        tags,
        summary: 'Check variables against the template: errors (field path and rule) and warnings for risky rendered values',
        params: templateParams,
        body: validateTemplateBody,
        response: { 200: validationResponse },
      },
    },
    async (request) => {
      const { errors, warnings } = await renderTemplate(
        deps.commands,
        principalOf(request).tenantId,
        request.params.templateId,
        request.body.variables,
      );
      return { valid: errors.length === 0, errors, warnings };
    },
  );

  routes.post(
    '/validate',
    {
      config: read,
      schema: {
        tags,
        summary: 'Validate any config or service spec against a schema of typed fields, with warnings for risky values',
        description:
          'Warnings: `latest` or missing image tags, containers without resource limits, privileged containers, secret-looking values in plain env or config data.',
        body: validateBody,
        response: { 200: validationResponse },
      },
    },
    async (request) => {
      const { config, schema } = request.body;
      validVariables(cleanVariables(schema), 'schema', true);
      const errors = checkAgainstSchema(config, schema);
      return { valid: errors.length === 0, errors, warnings: riskyConfig(config) };
    },
  );

  routes.get(
    '/:templateId',
    {
      config: read,
      schema: {
        tags,
        summary: 'One config template (ETag = revision)',
        params: templateParams,
        querystring: oneQuery,
        response: { 200: templateResponse },
      },
    },
    async (request, reply) => {
      await deps.readYourWrites.await(request.query.minPosition, PROJECTIONS);
      const found = await getConfigTemplate(deps.db.kysely, principalOf(request).tenantId, request.params.templateId);
      if (!found) throw notFoundOf(CONFIG_TEMPLATE_CATEGORY);
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
        summary: 'List your tenant’s config templates by name',
        querystring: templateListQuery,
        response: { 200: templateListResponse },
      },
    },
    async (request) => {
      const { minPosition, ...filter } = request.query;
      await deps.readYourWrites.await(minPosition, PROJECTIONS);
      return listConfigTemplates(deps.db.kysely, principalOf(request).tenantId, filter) as never;
    },
  );
}
