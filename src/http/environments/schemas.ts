// The zod schemas of the environment, config and config template routes, limits from the domain.
import { z } from 'zod';
import {
  CONFIG_KEY_MAX,
  CONFIG_MAX_KEYS,
  CONFIG_TYPES,
  DNS_LABEL,
  ENVIRONMENT_NAME_MAX,
  ENVIRONMENT_STATUSES,
  ENVIRONMENT_TYPES,
  LOAD_BALANCER_TYPES,
  ORCHESTRATOR_KINDS,
  QUOTA_LIMITS,
  TEMPLATE_DESCRIPTION_MAX,
  TEMPLATE_NAME_MAX,
  VARIABLE_TYPES,
} from '../../domain/environments/index.js';
import { USER_PATTERN_INPUT_MAX, USER_PATTERN_MAX, USER_PATTERN_STATES_MAX } from '../../domain/user-pattern.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

/** An ISO date-time, or an ISO date meaning the start of that day in UTC. */
export const asOfQuery = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))
  .optional()
  .describe('ISO date-time or date (start of that day, UTC): the resource as it was then');

const name = z.string().trim().min(1).max(ENVIRONMENT_NAME_MAX);
const dnsName = z.string().max(253);
const quota = (max: number) => z.number().int().min(1).max(max);
const flags = z.strictObject({ autoScale: z.boolean(), monitoring: z.boolean(), logging: z.boolean(), backup: z.boolean() });
const quotas = z.strictObject({
  maxReplicasPerService: quota(QUOTA_LIMITS.maxReplicasPerService),
  maxTotalReplicas: quota(QUOTA_LIMITS.maxTotalReplicas),
  cpuMillis: quota(QUOTA_LIMITS.cpuMillis),
  memoryMb: quota(QUOTA_LIMITS.memoryMb),
});
const networking = z.strictObject({ ingressHost: dnsName, tls: z.boolean(), loadBalancer: z.enum(LOAD_BALANCER_TYPES), dns: dnsName });
const networkPolicy = z.strictObject({
  name: z.string().max(63),
  from: z.array(z.string().max(253)).max(50).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).max(50).optional(),
});
const security = z.strictObject({
  serviceAccount: dnsName,
  roles: z.array(dnsName).max(50),
  networkPolicies: z.array(networkPolicy).max(50),
  runAsNonRoot: z.boolean(),
  readOnlyRootFilesystem: z.boolean(),
  allowPrivilegeEscalation: z.boolean(),
});
const target = z
  .string()
  .max(63)
  .regex(DNS_LABEL, 'must be a DNS label: lowercase letters, digits and dashes, alphanumeric at both ends')
  .describe('Kubernetes namespace or Docker network; defaults to one made from the name');

export const createEnvironmentBody = z.strictObject({
  environmentId: z.uuid().optional(),
  name,
  type: z.enum(ENVIRONMENT_TYPES),
  orchestrator: z.enum(ORCHESTRATOR_KINDS),
  target: target.optional(),
  flags: flags.partial().optional(),
  quotas: quotas.partial().optional(),
  networking: networking.partial().optional(),
  security: security.partial().optional(),
});

/** null removes a field of a group. */
const nullable = <T extends z.ZodRawShape>(shape: z.ZodObject<T>) =>
  z.strictObject(
    Object.fromEntries(Object.entries(shape.shape).map(([k, v]) => [k, (v as z.ZodType).nullable().optional()])) as unknown as {
      [K in keyof T]: z.ZodOptional<z.ZodNullable<T[K]>>;
    },
  );

export const changeEnvironmentBody = z
  .strictObject({
    name: name.optional(),
    type: z.enum(ENVIRONMENT_TYPES).optional(),
    orchestrator: z.enum(ORCHESTRATOR_KINDS).optional(),
    target: target.optional(),
    flags: flags.partial().optional(),
    quotas: nullable(quotas).optional(),
    networking: nullable(networking).optional(),
    security: nullable(security).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

export const environmentParams = z.strictObject({ environmentId: z.uuid() });
export const deleteEnvironmentQuery = z.strictObject({
  force: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Delete even while deployments run in it (they are torn down)'),
});
export const environmentAccepted = z.object({ environmentId: z.string(), revision: z.number().int(), position: z.string() });
export const environmentResponse = z.object({
  environmentId: z.string(),
  name: z.string(),
  type: z.enum(ENVIRONMENT_TYPES),
  orchestrator: z.enum(ORCHESTRATOR_KINDS),
  target: z.string(),
  status: z.enum(ENVIRONMENT_STATUSES),
  reason: z.string().optional(),
  flags,
  quotas: quotas.partial(),
  networking: networking.partial(),
  security: security.partial(),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export const oneQuery = z.strictObject({ asOf: asOfQuery, minPosition: minPositionQuery });
export const environmentListQuery = z.strictObject({
  type: z.enum(ENVIRONMENT_TYPES).optional(),
  orchestrator: z.enum(ORCHESTRATOR_KINDS).optional(),
  status: z.enum(ENVIRONMENT_STATUSES).optional(),
  q: z.string().trim().min(1).max(ENVIRONMENT_NAME_MAX).optional().describe('Case-insensitive substring of the name'),
  ...pageQuery,
  minPosition: minPositionQuery,
});
export const environmentListResponse = pageResponse(environmentResponse);

// Configs
const configData = z
  .record(z.string(), z.string()) // keys are checked by the domain's one rule (config.data.key), naming the key
  .refine((d) => Object.keys(d).length <= CONFIG_MAX_KEYS, { message: `at most ${CONFIG_MAX_KEYS} keys` })
  .describe(
    `Keys: 1–${CONFIG_KEY_MAX} letters, digits, -, _ and . (not . or ..) — a file name on every orchestrator; for type environment, variable names`,
  );
export const createConfigBody = z.strictObject({
  configId: z.uuid().optional(),
  name: z.string().min(1).max(253).describe('Lowercase DNS name; unique within the environment (or tenant-wide)'),
  type: z.enum(CONFIG_TYPES),
  data: configData,
  environmentId: z.uuid().nullable().optional().describe('The environment it belongs to; absent or null: tenant-wide'),
  rollServices: z.boolean().default(false).describe('Services that use the config are rolled when it changes'),
});
export const changeConfigBody = z.strictObject({ data: configData, rollServices: z.boolean().default(false) });
export const configParams = z.strictObject({ configId: z.uuid() });
export const configAccepted = z.object({
  configId: z.string(),
  version: z.number().int(),
  revision: z.number().int(),
  position: z.string(),
});
const configFields = {
  configId: z.string(),
  name: z.string(),
  environmentId: z.string().nullable(),
  type: z.enum(CONFIG_TYPES),
  version: z.number().int(),
  rollServices: z.boolean(),
  keys: z.array(z.string()),
  data: z.record(z.string(), z.string()).describe('A secret’s values are masked'),
};
export const configResponse = z.object({
  ...configFields,
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export const configListQuery = z.strictObject({
  environmentId: z.uuid().optional(),
  scope: z.enum(['tenant', 'environment']).optional().describe('tenant: only tenant-wide configs; environment: only scoped ones'),
  type: z.enum(CONFIG_TYPES).optional(),
  q: z.string().trim().min(1).max(253).optional(),
  ...pageQuery,
  minPosition: minPositionQuery,
});
export const configListResponse = pageResponse(configResponse);
export const versionListQuery = z.strictObject({ ...pageQuery, minPosition: minPositionQuery });
export const versionListResponse = pageResponse(
  z.object({
    version: z.number().int(),
    rollServices: z.boolean(),
    keys: z.array(z.string()),
    data: z.record(z.string(), z.string()),
    createdAt: z.string(),
    createdBy: z.string(),
  }),
);
export const rewrapResponse = z.object({
  configs: z.number().int(),
  versions: z.number().int(),
  templates: z.number().int().describe('Secret config templates whose sealed data and defaults were re-wrapped'),
  failed: z.array(z.object({ configId: z.string().optional(), templateId: z.string().optional(), reason: z.string() })),
});

// Config templates
const variable = z.strictObject({
  name: z.string().min(1).max(100),
  type: z.enum(VARIABLE_TYPES),
  required: z.boolean().default(false),
  default: z.union([z.string().max(10_000), z.number(), z.boolean()]).optional(),
  pattern: z
    .string()
    .max(USER_PATTERN_MAX)
    .optional()
    .describe(
      `JavaScript syntax (flag u) on a linear-time matcher: no back-references, lookaround or \\b; at most ${USER_PATTERN_STATES_MAX} automaton states for all of a template's patterns together; values over ${USER_PATTERN_INPUT_MAX} characters fail it`,
    ),
  values: z.array(z.string().max(253)).max(200).optional(),
  description: z.string().max(2000).optional(),
});
export const createTemplateBody = z.strictObject({
  templateId: z.uuid().optional(),
  name: z.string().trim().min(1).max(TEMPLATE_NAME_MAX),
  description: z.string().max(TEMPLATE_DESCRIPTION_MAX).default(''),
  configType: z.enum(CONFIG_TYPES),
  variables: z.array(variable).max(200).default([]),
  data: configData,
});
export const changeTemplateBody = z
  .strictObject({
    name: z.string().trim().min(1).max(TEMPLATE_NAME_MAX).optional(),
    description: z.string().max(TEMPLATE_DESCRIPTION_MAX).optional(),
    variables: z.array(variable).max(200).optional(),
    data: configData.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });
export const templateParams = z.strictObject({ templateId: z.uuid() });
export const templateAccepted = z.object({ templateId: z.string(), revision: z.number().int(), position: z.string() });
export const templateResponse = z.object({
  templateId: z.string(),
  name: z.string(),
  description: z.string(),
  configType: z.enum(CONFIG_TYPES),
  variables: z.array(
    variable.extend({
      defaultSealed: z
        .boolean()
        .optional()
        .describe('A secret template’s variable that has a default: the default is sealed with the data and never shown'),
    }),
  ),
  data: z.record(z.string(), z.string()).describe('A secret template’s values are masked (`********`): only its keys show'),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export const templateListQuery = z.strictObject({
  configType: z.enum(CONFIG_TYPES).optional(),
  q: z.string().trim().min(1).max(TEMPLATE_NAME_MAX).optional(),
  ...pageQuery,
  minPosition: minPositionQuery,
});
export const templateListResponse = pageResponse(templateResponse);
const variableValues = z.record(z.string().max(100), z.union([z.string().max(100_000), z.number(), z.boolean()])).default({});
export const renderBody = z.strictObject({
  variables: variableValues,
  name: z.string().min(1).max(253).optional().describe('Name of the config to create (required unless dryRun or configId)'),
  environmentId: z.uuid().nullable().optional(),
  configId: z.uuid().optional().describe('Render a new version of this config instead of creating one'),
  rollServices: z.boolean().default(false),
  dryRun: z.boolean().default(false).describe('Only render and validate; write nothing'),
});
const finding = z.object({ field: z.string(), rule: z.string(), message: z.string() });
export const renderResponse = z.object({
  configId: z.string().optional(),
  version: z.number().int().optional(),
  revision: z.number().int().optional(),
  position: z.string().optional(),
  data: z.record(z.string(), z.string()).describe('Masked for a secret'),
  warnings: z.array(finding),
});
export const validateTemplateBody = z.strictObject({ variables: variableValues });
export const validateBody = z.strictObject({
  config: z.record(z.string(), z.unknown()).describe('Any config or service spec (JSON)'),
  schema: z.array(variable).max(500).default([]).describe('Fields to check; `name` is a dotted path into the config'),
});
export const validationResponse = z.object({ valid: z.boolean(), errors: z.array(finding), warnings: z.array(finding) });
