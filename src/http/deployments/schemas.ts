// The zod schemas of the deployment routes. They check shapes only and document the domain's bounds
// (derived from DEPLOYMENT_LIMITS, never restated); the domain checks every rule (replica counts, image
// references, port clashes, quotas) on the whole request at once, so one 400 names every field at fault
// (`body.services.1.image`, `body.services.1.replicas`), and a shape check never hides a rule's refusal.
import { z } from 'zod';
import {
  DEPLOYMENT_LIMITS,
  DEPLOYMENT_STATUSES,
  PROTOCOLS,
  SERVICE_TYPES,
  VOLUME_KINDS,
  type ServiceInput,
} from '../../domain/deployments/index.js';
import { jsonValue } from '../openapi.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

const text = (max: number) => z.string().max(max);
/** A replica count: the domain's validReplicas refuses what the bounds say (400 naming the field). */
const replicaCount = z.number().meta({ type: 'integer', minimum: 0, maximum: DEPLOYMENT_LIMITS.replicasMax });

export const serviceBody = z.strictObject({
  name: text(DEPLOYMENT_LIMITS.nameMax),
  type: z.enum(SERVICE_TYPES),
  image: text(512).describe('an image reference: [registry[:port]/]path[:tag][@digest]'),
  replicas: replicaCount.optional().describe(`0–${DEPLOYMENT_LIMITS.replicasMax} and within the environment quota (default 1)`),
  ports: z
    .array(
      z.strictObject({ containerPort: z.number(), hostPort: z.number().nullable().optional(), protocol: z.enum(PROTOCOLS).optional() }),
    )
    .max(DEPLOYMENT_LIMITS.portsPerService)
    .optional(),
  env: z.record(text(256), text(32_768)).optional(),
  envFrom: z.array(text(253)).max(20).optional().describe('configs (environment or configmap) whose keys become variables'),
  volumes: z
    .array(
      z.strictObject({
        name: text(DEPLOYMENT_LIMITS.nameMax),
        kind: z.enum(VOLUME_KINDS),
        mountPath: text(1024),
        source: text(253).nullable().optional().describe('configmap/secret: the config it mounts'),
        size: text(16).nullable().optional().describe('persistent: e.g. 1Gi'),
      }),
    )
    .max(DEPLOYMENT_LIMITS.volumesPerService)
    .optional(),
  command: z.array(text(4096)).max(100).nullable().optional(),
  resources: z.strictObject({ cpuMillis: z.number().nullable().optional(), memoryMb: z.number().nullable().optional() }).optional(),
  healthCheck: z
    .strictObject({
      http: z
        .strictObject({ path: text(1024), port: z.number() })
        .nullable()
        .optional(),
      command: z.array(text(4096)).max(100).nullable().optional(),
      intervalSeconds: z.number().optional(),
      timeoutSeconds: z.number().optional(),
      healthyThreshold: z.number().optional(),
      unhealthyThreshold: z.number().optional(),
    })
    .nullable()
    .optional(),
}) satisfies z.ZodType<ServiceInput>;

const services = z.array(serviceBody).max(DEPLOYMENT_LIMITS.services);
const reason = text(1000).optional().describe('why: kept in the release history');

export const deployBody = z.strictObject({
  deploymentId: z.uuid().optional(),
  name: text(DEPLOYMENT_LIMITS.nameMax),
  applicationId: text(200),
  environmentId: text(200),
  version: text(128),
  services,
  policy: z
    .strictObject({
      autoRollback: z.boolean().optional().describe('default: on for production environments'),
      selfHeal: z.boolean().optional().describe('default on'),
      progressDeadlineSeconds: z.number().optional().describe('1–86400, default 300'),
    })
    .optional(),
  reason,
});
export const updateBody = z.strictObject({ version: text(128), services, reason });
export const rollbackBody = z
  .strictObject({ toRelease: z.number().int().min(1).optional().describe('default: the previous good release'), reason })
  .optional();
export const scaleBody = z.strictObject({
  service: text(DEPLOYMENT_LIMITS.nameMax),
  replicas: replicaCount.describe(`0–${DEPLOYMENT_LIMITS.replicasMax}, the same rule as on create, and within the environment quota`),
  reason,
});
export const lifecycleBody = z
  .strictObject({ services: z.array(text(DEPLOYMENT_LIMITS.nameMax)).max(DEPLOYMENT_LIMITS.services).optional(), reason })
  .optional();

export const idParams = z.strictObject({ deploymentId: z.uuid() });
export const releaseParams = z.strictObject({ deploymentId: z.uuid(), release: z.coerce.number().int().min(1) });
export const accepted = z.object({
  deploymentId: z.string(),
  release: z.number().int(),
  status: z.string(),
  revision: z.number().int(),
  position: z.string(),
});

const releaseSummary = z
  .object({
    release: z.number(),
    version: z.string(),
    kind: z.string(),
    automatic: z.boolean(),
    rollbackTo: z.number().nullable(),
    outcome: z.string(),
    reason: z.string(),
    failure: z.string().nullable(),
  })
  .nullable();
const replicas = z.object({ desired: z.number(), ready: z.number(), available: z.number() });
export const deploymentResponse = z.looseObject({
  deploymentId: z.string(),
  name: z.string(),
  applicationId: z.string(),
  environmentId: z.string(),
  orchestrator: z.string(),
  version: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  policy: z.record(z.string(), jsonValue),
  currentRelease: releaseSummary,
  previousRelease: releaseSummary,
  liveRelease: z.number().nullable(),
  services: z.array(z.object({ name: z.string(), type: z.string(), image: z.string(), replicas, conditions: z.array(jsonValue) })),
  rollout: jsonValue.nullable(),
  lastRollout: jsonValue.nullable(),
  drift: jsonValue.nullable(),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export const oneQuery = z.strictObject({
  minPosition: minPositionQuery,
  asOf: z.iso.datetime({ offset: true }).optional().describe('show the deployment as it was at this instant (folded from its events)'),
});
export const listQuery = z.strictObject({
  environmentId: text(200).optional(),
  applicationId: text(200).optional(),
  status: z.enum(DEPLOYMENT_STATUSES).optional(),
  ...pageQuery,
  minPosition: minPositionQuery,
});
export const listResponse = pageResponse(deploymentResponse);
export const releaseResponse = z.looseObject({
  release: z.number(),
  version: z.string(),
  kind: z.string(),
  automatic: z.boolean(),
  rollbackTo: z.number().nullable(),
  reason: z.string(),
  changes: z.array(z.string()),
  services: z.array(jsonValue),
  outcome: z.string(),
  failure: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export const diffQuery = z.strictObject({
  from: z.coerce.number().int().min(1),
  to: z.coerce.number().int().min(1),
  minPosition: minPositionQuery,
});
export const diffResponse = z.object({ from: z.number(), to: z.number(), changes: z.array(z.string()) });
export const statusResponse = z.object({
  deploymentId: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  services: z.array(jsonValue),
  rollout: jsonValue.nullable(),
  lastRollout: jsonValue.nullable(),
  drift: jsonValue.nullable(),
});
export const healthResponse = z.object({
  deploymentId: z.string(),
  reachable: z.boolean(),
  healthy: z.boolean(),
  detail: z.string().optional(),
  instances: z.array(
    z.object({
      id: z.string(),
      service: z.string(),
      release: z.number(),
      replica: z.number(),
      image: z.string(),
      state: z.string(),
      health: z.string(),
    }),
  ),
});
