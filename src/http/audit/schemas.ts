// The zod schemas of the audit routes, their limits from the domain (domain/audit).
import { z } from 'zod';
import { AUDIT_ID_MAX, AUDIT_LIST_MAX, AUDIT_PAGE_MAX } from '../../domain/audit/index.js';
import { TENANT_ID_PATTERN } from '../../domain/principal.js';
import { parsePosition, type Position } from '../../ports/event-store.js';

// The store's columns: commit positions are xid8 (unsigned 64 bits), prepare positions bigint (signed).
const COMMIT_MAX = 2n ** 64n - 1n;
const PREPARE_MAX = 2n ** 63n - 1n;

export const withinColumns = (position: Position): boolean => position.commit <= COMMIT_MAX && position.prepare <= PREPARE_MAX;

/** A position as commands return it ("<commit>.<prepare>"), within the store's column ranges. */
export const positionText = z
  .string()
  .regex(/^\d{1,20}\.\d{1,20}$/, 'must be a position as returned by a command, e.g. "1234.56"')
  // Zod runs this check after a failed regex too: a text that is no position is the regex's to report.
  .refine((text) => {
    const position = parsePosition(text);
    return !position || withinColumns(position);
  }, 'is beyond the largest position the store can hold');

const id = z.string().min(1).max(AUDIT_ID_MAX);
/** A name list, comma-separated: `TemplateCreated,TemplateUpdated`. */
const nameList = (what: string) =>
  z
    .string()
    .max(AUDIT_LIST_MAX * 101)
    .transform((text) => [...new Set(text.split(',').map((part) => part.trim()))].filter(Boolean))
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z0-9_$.:]{1,100}$/, `each ${what} is 1 to 100 letters, digits or _ $ . :`))
        .min(1)
        .max(AUDIT_LIST_MAX),
    );
const instant = z.iso.datetime({ offset: true }).describe('ISO 8601 with a time zone, e.g. 2026-11-26T09:00:00Z');

export const auditEventsQuery = z
  .strictObject({
    tenantId: z.string().regex(TENANT_ID_PATTERN).optional().describe('Platform keys only: one tenant (default: all tenants)'),
    streamId: id
      .optional()
      .describe("One aggregate's stream, e.g. template-<uuid>; for a tenant's key, <category>-<uuid> means its own aggregate of that id"),
    category: nameList('category').optional().describe('Aggregate types (stream categories), comma-separated, e.g. template,category'),
    eventType: nameList('event type').optional().describe('Event types, comma-separated'),
    userId: id.optional().describe('Who issued the command'),
    correlationId: id.optional(),
    causationId: id.optional(),
    from: instant.optional().describe('Events that occurred at or after this instant'),
    to: instant.optional().describe('Events that occurred at or before this instant'),
    after: positionText.optional().describe('Events strictly after this position (also the `next` cursor of a page)'),
    upTo: positionText.optional().describe('Events at or before this position'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(AUDIT_PAGE_MAX)
      .optional()
      .describe(`JSON: events per page (default 100, at most ${AUDIT_PAGE_MAX}); NDJSON: stop after this many (default: no limit)`),
  })
  .superRefine((query, context) => {
    if (query.from && query.to && Date.parse(query.from) > Date.parse(query.to))
      context.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    if (query.after && query.upTo) {
      const [after, upTo] = [parsePosition(query.after), parsePosition(query.upTo)];
      if (after && upTo && (after.commit > upTo.commit || (after.commit === upTo.commit && after.prepare > upTo.prepare)))
        context.addIssue({ code: 'custom', path: ['upTo'], message: 'must not be before after' });
    }
  });

export const auditEvent = z.object({
  position: z.string(),
  streamId: z.string(),
  category: z.string(),
  revision: z.number().int(),
  eventId: z.string(),
  type: z.string(),
  occurredAt: z.string(),
  recordedAt: z.string(),
  tenantId: z.string().nullable(),
  userId: z.string().nullable(),
  correlationId: z.string().nullable(),
  causationId: z.string().nullable(),
  commandId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
});

export const auditPage = z.object({
  items: z.array(auditEvent),
  next: z
    .string()
    .nullable()
    .describe(
      'Pass as `after` for the next page; null at the end of the range. The log pages by cursor (no page/pageSize: it has no cheap total)',
    ),
});

export const streamParams = z.strictObject({ streamId: id });
export const streamQuery = z.strictObject({
  after: positionText.optional(),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
});
export const streamPage = auditPage.extend({ streamId: z.string(), category: z.string() });
