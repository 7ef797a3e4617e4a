// The zod schemas of the backup policy routes, their limits taken from the domain. Shapes are checked here
// (a time is HH:MM, 25:00 is refused); whether a schedule can ever run (a cron for February 30) and
// whether the retention keeps anything are the domain's rules, answered as 400 naming the field as well.
import { z } from 'zod';
import {
  BACKUP_POLICY_DESCRIPTION_MAX,
  BACKUP_POLICY_NAME_MAX,
  RETENTION_DAYS_MAX,
  RETENTION_MIN_COUNT_MAX,
  type BackupSchedule,
} from '../../domain/backup-policies/index.js';
import { BACKUP_TYPES } from '../../domain/backups/index.js';
import { scopeView } from '../backups/schemas.js';
import { TENANT_ID_PATTERN } from '../../domain/principal.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

const time = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM from 00:00 to 23:59 (UTC)')
  .describe('HH:MM, UTC');

export const scheduleSchema = z
  .discriminatedUnion('frequency', [
    z.strictObject({ frequency: z.literal('hourly'), minute: z.number().int().min(0).max(59).default(0) }),
    z.strictObject({ frequency: z.literal('daily'), time }),
    z.strictObject({ frequency: z.literal('weekly'), dayOfWeek: z.number().int().min(0).max(6).describe('0 = Sunday'), time }),
    z.strictObject({
      frequency: z.literal('monthly'),
      dayOfMonth: z.number().int().min(1).max(31).describe('a month without this day runs on its last day'),
      time,
    }),
    z.strictObject({
      frequency: z.literal('cron'),
      expression: z
        .string()
        .min(1)
        .max(200)
        .describe(
          '5 or 6 fields, UTC; runs at least BACKUP_POLICY_MIN_INTERVAL_SECONDS (300 by default) apart, else 400 backup_policy.schedule.too_frequent',
        ),
    }),
  ])
  .describe('When the policy runs (UTC)') satisfies z.ZodType<BackupSchedule>;

const retention = z
  .strictObject({
    days: z.number().int().min(0).max(RETENTION_DAYS_MAX).describe('backups older than this may be deleted'),
    minCount: z
      .number()
      .int()
      .min(0)
      .max(RETENTION_MIN_COUNT_MAX)
      .describe('the newest this-many valid backups are kept whatever their age'),
  })
  .describe('Applied after each successful backup; the newest valid backup and the parents of kept incrementals are never deleted');

const scope = z
  .strictObject({
    tenantId: z.string().regex(TENANT_ID_PATTERN, 'lowercase letters, digits and dashes').optional(),
    allTenants: z.literal(true).optional().describe('Every tenant (needs the platform permission)'),
  })
  .refine((s) => !(s.tenantId && s.allTenants), { message: 'give tenantId or allTenants, not both' })
  .describe("Default: the caller's tenant. Another tenant, all tenants, and files or full backups need the platform permission");

const settings = {
  name: z.string().trim().min(1).max(BACKUP_POLICY_NAME_MAX),
  description: z.string().max(BACKUP_POLICY_DESCRIPTION_MAX),
  type: z.enum(BACKUP_TYPES),
  scope,
  schedule: scheduleSchema,
  retention,
  incremental: z.boolean().describe('Each run continues the previous backup (the first is full)'),
  drillAfterBackup: z.boolean().describe('Run a restore drill after each successful backup'),
};

export const createBody = z.strictObject({
  policyId: z.uuid().optional(),
  ...settings,
  description: settings.description.optional(),
  scope: scope.optional(),
  incremental: settings.incremental.optional(),
  drillAfterBackup: settings.drillAfterBackup.optional(),
  enabled: z.boolean().optional().describe('Default true'),
});

export const changeBody = z
  .strictObject({
    name: settings.name.optional(),
    description: settings.description.optional(),
    type: settings.type.optional(),
    scope: scope.optional(),
    schedule: settings.schedule.optional(),
    retention: settings.retention.optional(),
    incremental: settings.incremental.optional(),
    drillAfterBackup: settings.drillAfterBackup.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'give at least one field to change' });

export const idParams = z.strictObject({ policyId: z.uuid() });
export const accepted = z.object({ policyId: z.string(), revision: z.number().int(), position: z.string() });
export const runAccepted = accepted.extend({ backupId: z.string(), status: z.literal('queued') });

const policyView = z.object({
  policyId: z.string(),
  name: z.string(),
  description: z.string(),
  type: z.string(),
  scope: scopeView,
  schedule: z.record(z.string(), z.unknown()),
  retention: z.object({ days: z.number(), minCount: z.number() }),
  incremental: z.boolean(),
  drillAfterBackup: z.boolean(),
  enabled: z.boolean(),
  nextRunAt: z.string().nullable(),
  lastRun: z.object({ at: z.string(), trigger: z.string(), backupId: z.string(), status: z.string().nullable() }).nullable(),
  lastBackupId: z.string().nullable(),
  lastSkippedSlot: z.string().nullable().describe('the last slot skipped because the previous backup was still running'),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

export const policyResponse = policyView.extend({
  lastSuccessfulDrill: z.object({ backupId: z.string(), drillId: z.string(), finishedAt: z.string() }).nullable(),
});

export const oneQuery = z.strictObject({ minPosition: minPositionQuery });

export const listQuery = z.strictObject({
  enabled: z.enum(['true', 'false']).optional(),
  type: z.enum(BACKUP_TYPES).optional(),
  ...pageQuery,
  minPosition: minPositionQuery,
});

export const listResponse = pageResponse(policyView);
