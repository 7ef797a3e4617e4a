// The zod schemas of the restore routes.
import { z } from 'zod';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

export const RESTORE_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export const DIRECTORY_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const restoreBody = z
  .strictObject({
    target: z
      .strictObject({
        databaseUrl: z
          .string()
          .max(2000)
          .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'a postgres:// URL')
          .optional()
          .describe(
            'An empty PostgreSQL database (platform only; it holds the log and api keys, never the files part: see `parts`); no ' +
              'password in it: the service uses its own credentials. One it cannot ' +
              'reach within DATABASE_CONNECT_TIMEOUT_MS is refused with 400 `restore.target.unreachable`, saying why without the host or port',
          ),
        dataDirectory: z
          .string()
          .regex(DIRECTORY_NAME, 'a name: lowercase letters, digits, - and _ (1–63), not a path')
          .optional()
          .describe(
            'A new data directory for the embedded store, made as DATA_DIR/restores/<your tenant>/<name>; the files part of a ' +
              'files/full backup is restored into it too (a backup holding files needs the platform permission)',
          ),
      })
      .refine((t) => (t.databaseUrl === undefined) !== (t.dataDirectory === undefined), {
        message: 'give exactly one of databaseUrl or dataDirectory',
      }),
    toPosition: z
      .string()
      .regex(/^\d{1,20}\.\d{1,20}$/, 'a position <commit>.<prepare>, e.g. "1234.56"')
      .optional()
      .describe('Inclusive: stop after the event at this position'),
    toTime: z.iso.datetime({ offset: true }).optional().describe("Inclusive: the log's prefix up to this instant"),
  })
  .refine((b) => !(b.toPosition && b.toTime), { message: 'give toPosition or toTime, not both', path: ['toTime'] });

export const backupParams = z.strictObject({ backupId: z.uuid() });
export const restoreParams = z.strictObject({ restoreId: z.uuid() });

export const restoreAccepted = z.object({
  restoreId: z.string(),
  backupId: z.string(),
  status: z
    .literal('queued')
    .describe(
      'A worker runs it when its turn comes (LONG_JOBS_PER_TENANT per tenant, LONG_JOBS_TOTAL per instance); GET shows `running` once it started',
    ),
  revision: z.number().int(),
  position: z.string(),
});

export const restoreResponse = z.object({
  restoreId: z.string(),
  backupId: z.string(),
  backupScope: z.object({ tenantId: z.string().optional(), allTenants: z.literal(true).optional() }),
  target: z
    .object({ kind: z.string(), location: z.string() })
    .describe('`location`: the data directory’s name as given (never a host path), or the database URL (never a password)'),
  toPosition: z.string().nullable(),
  toTime: z.string().nullable(),
  status: z.enum(RESTORE_STATUSES),
  runs: z.number().int().describe('Runs started (a run killed with the service is started over)'),
  eventsRestored: z.number().int().describe('Events written so far by the current run; all of them once completed'),
  totalEvents: z.number().int().nullable().describe("Events the backup's chain holds (an upper bound with toPosition / toTime)"),
  streams: z.number().int().nullable(),
  range: z.object({ first: z.string().nullable(), last: z.string().nullable() }).describe('First and last restored position'),
  chain: z.array(z.string()).describe('The backups restored, full first'),
  parts: z
    .object({
      restored: z.array(z.string()),
      notRestored: z.array(z.object({ part: z.string(), reason: z.string() })),
    })
    .nullable()
    .describe(
      'Once completed: the parts of the backup brought back — `log`, `files` (only into a dataDirectory target: a database ' +
        "target has no files), `api-keys` (a full backup's keys, hashes; revoked ones stay revoked) — and those not, with why",
    ),
  durationMs: z.number().int().nullable(),
  error: z.object({ reason: z.string(), field: z.string().nullable(), chunk: z.string().nullable() }).nullable(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  revision: z.number().int(),
});

export const oneRestoreQuery = z.strictObject({ minPosition: minPositionQuery });

export const restoreListQuery = z
  .strictObject({
    status: z.enum(RESTORE_STATUSES).optional(),
    backupId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).optional().describe('Requested at or after this instant'),
    to: z.iso.datetime({ offset: true }).optional().describe('Requested before this instant'),
    ...pageQuery,
    minPosition: minPositionQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] });

export const restoreListResponse = pageResponse(restoreResponse);
