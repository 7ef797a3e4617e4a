// The zod schemas of the backup routes, their limits taken from the domain.
import { z } from 'zod';
import { BACKUP_NAME_MAX, BACKUP_TYPES } from '../../domain/backups/index.js';
import { TENANT_ID_PATTERN } from '../../domain/principal.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

export const BACKUP_STATUSES = ['queued', 'running', 'completed', 'failed', 'partially_failed'] as const;

export const createBody = z.strictObject({
  name: z.string().trim().min(1).max(BACKUP_NAME_MAX),
  type: z.enum(BACKUP_TYPES),
  scope: z
    .strictObject({
      tenantId: z.string().regex(TENANT_ID_PATTERN, 'lowercase letters, digits and dashes').optional(),
      allTenants: z.literal(true).optional().describe('Every tenant (needs the platform permission)'),
    })
    .refine((scope) => !(scope.tenantId && scope.allTenants), { message: 'give tenantId or allTenants, not both' })
    .optional()
    .describe("Default: the caller's tenant. Another tenant, all tenants, and files or full backups need the platform permission"),
  incremental: z.boolean().optional().describe('Only the events after the newest published backup of the same type and scope'),
});

export const idParams = z.strictObject({ backupId: z.uuid() });

export const accepted = z.object({
  backupId: z.string(),
  status: z.enum(BACKUP_STATUSES),
  revision: z.number().int(),
  position: z.string(),
});

const issue = z.object({ field: z.string(), message: z.string(), code: z.string() });
export const validationResponse = z.object({
  backupId: z.string(),
  valid: z.boolean(),
  errors: z.array(issue),
  warnings: z.array(issue),
  revision: z.number().int(),
  position: z.string(),
});

/** Who a backup (or policy) covers: one tenant, or `{ "allTenants": true }`, as a create asks for it. */
export const scopeView = z
  .union([z.strictObject({ tenantId: z.string() }), z.strictObject({ allTenants: z.literal(true) })])
  .describe('One tenant, or every tenant ({ "allTenants": true })');

export const backupResponse = z.object({
  backupId: z.string(),
  name: z.string(),
  type: z.string(),
  scope: scopeView,
  incremental: z.boolean(),
  policyId: z.string().nullable(),
  status: z.enum(BACKUP_STATUSES),
  parentBackupId: z.string().nullable(),
  position: z.object({ from: z.string(), to: z.string() }).nullable().describe('Events after `from` up to `to` (inclusive)'),
  eventCount: z.number().int(),
  size: z.number().int().describe('Bytes stored'),
  chunks: z.number().int(),
  checksum: z.string().nullable().describe("sha256 of the published manifest (which holds every chunk's sha256)"),
  location: z
    .string()
    .nullable()
    .describe(
      'Where the manifest is stored: its key under the backup storage root (filesystem) or s3://bucket/prefix/key; never a host path',
    ),
  durationMs: z.number().int().nullable(),
  failedItems: z.array(z.object({ item: z.string(), reason: z.string() })),
  reason: z.string().nullable().describe('Why it failed'),
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  lastValidation: z.record(z.string(), z.unknown()).nullable(),
  lastDrill: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      'The last restore drill: { drillId, status: queued | running | passed | failed, startedAt, … }: `queued` until a worker starts it (LONG_JOBS_PER_TENANT, LONG_JOBS_TOTAL)',
    ),
  revision: z.number().int(),
});

export const oneBackupQuery = z.strictObject({ minPosition: minPositionQuery });

export const listQuery = z
  .strictObject({
    type: z.enum(BACKUP_TYPES).optional(),
    status: z.enum(BACKUP_STATUSES).optional(),
    from: z.iso.datetime({ offset: true }).optional().describe('Created at or after this instant'),
    to: z.iso.datetime({ offset: true }).optional().describe('Created before this instant'),
    ...pageQuery,
    minPosition: minPositionQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] });

export const listResponse = pageResponse(backupResponse);
