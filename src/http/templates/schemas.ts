// The zod schemas of the template routes. Every limit the domain has comes from the domain's constants, and
// the bodies are checked against the domain's input types (`satisfies`), so the edge and the aggregate
// cannot drift apart unnoticed. The limits defined here are the edge's own (search input, read-model
// column ranges, a few stricter bounds on content), named and commented.
import { z } from 'zod';
import {
  CURRENCY_CODE,
  MERGE_STRATEGIES,
  SKILL_LEVELS,
  TAG_TYPES,
  TEMPLATE_DESCRIPTION_MAX,
  TEMPLATE_DURATION_MAX,
  TEMPLATE_ERROR_MESSAGE_MAX,
  TEMPLATE_NAME_MAX,
  TEMPLATE_SELECTIVE_KEYS_MAX,
  TEMPLATE_STATUSES,
  TEMPLATE_TAG_NAME_MAX,
  TEMPLATE_TAG_VALUE_MAX,
  TEMPLATE_TAGS_MAX,
  TEMPLATE_TYPES,
  USAGE_OUTCOMES,
  USAGE_TYPES,
  type CreateTemplateData,
  type Money,
  type RecordTemplateUsageData,
  type TemplateChanges,
  type TemplateTag,
  type TemplateTagKey,
} from '../../domain/templates/index.js';
import { SEARCH_SORTS } from '../../projections/templates/template-queries.js';
import { jsonValue } from '../openapi.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

/** The largest PostgreSQL `integer` (versions, durations in the read model). */
const INT4_MAX = 2_147_483_647;
/** Edge-only bounds, stricter than the domain's (which takes keys of up to 255 characters and any safe
 * participant count): kept as they were published. */
const SELECTIVE_KEY_MAX = 200;
const PARTICIPANTS_MAX = 100_000;
/** Search input: how long a comma-separated list may be, and how many entries it may hold. */
const CSV_TEXT_MAX = 2000;
const CSV_ENTRIES_MAX = 20;
const CATEGORY_IDS_TEXT_MAX = 4000;
const CATEGORY_IDS_MAX = 50;
const KEYWORDS_MAX = 200;
const USAGE_DAYS_MAX = 366;

export const jsonObject = z.record(z.string(), jsonValue);
const money = z.strictObject({
  amountMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(CURRENCY_CODE, 'an ISO 4217 code, e.g. EUR'),
}) satisfies z.ZodType<Money>;
const tagName = z.string().trim().min(1).max(TEMPLATE_TAG_NAME_MAX);
const tagType = z.enum(TAG_TYPES).default('custom');
const tag = z.strictObject({
  name: tagName,
  value: z.string().max(TEMPLATE_TAG_VALUE_MAX).default(''),
  type: tagType,
}) satisfies z.ZodType<TemplateTag>;
const tagKey = z.strictObject({ name: tagName, type: tagType }) satisfies z.ZodType<TemplateTagKey>;
const nullableInt = (min: number, max: number) => z.number().int().min(min).max(max).nullable();

const contentFields = {
  name: z.string().trim().min(1).max(TEMPLATE_NAME_MAX),
  description: z.string().max(TEMPLATE_DESCRIPTION_MAX).nullable(),
  categoryId: z.uuid().nullable(),
  templateType: z.enum(TEMPLATE_TYPES),
  mergeStrategy: z.enum(MERGE_STRATEGIES),
  selectiveKeys: z.array(z.string().min(1).max(SELECTIVE_KEY_MAX)).max(TEMPLATE_SELECTIVE_KEYS_MAX),
  defaultDuration: nullableInt(1, TEMPLATE_DURATION_MAX).describe('minutes'),
  defaultMaxParticipants: nullableInt(1, PARTICIPANTS_MAX),
  defaultMinParticipants: nullableInt(1, PARTICIPANTS_MAX),
  defaultPrice: money.nullable().describe('integer minor units, e.g. 1999 EUR = 19.99 €'),
  defaultSkillLevel: z.enum(SKILL_LEVELS).nullable(),
  dynamicProperties: jsonObject,
  validationRules: jsonObject,
  uiConfiguration: jsonObject,
  isPublic: z.boolean(),
};

/** CreateTemplate's input as a client sends it: the owner is the caller, and the id may be left out. */
type CreateTemplateBody = Omit<CreateTemplateData, 'ownerTenantId' | 'templateId'> & { templateId?: string };

export const createBody = z.strictObject({
  templateId: z.uuid().optional(),
  ...contentFields,
  description: contentFields.description.optional(),
  categoryId: contentFields.categoryId.optional(),
  mergeStrategy: contentFields.mergeStrategy.optional(),
  selectiveKeys: contentFields.selectiveKeys.optional(),
  defaultDuration: contentFields.defaultDuration.optional(),
  defaultMaxParticipants: contentFields.defaultMaxParticipants.optional(),
  defaultMinParticipants: contentFields.defaultMinParticipants.optional(),
  defaultPrice: contentFields.defaultPrice.optional(),
  defaultSkillLevel: contentFields.defaultSkillLevel.optional(),
  dynamicProperties: jsonObject.optional(),
  validationRules: jsonObject.optional(),
  uiConfiguration: jsonObject.optional(),
  isPublic: z.boolean().optional(),
  parentTemplateId: z.uuid().nullable().optional(),
  tags: z.array(tag).max(TEMPLATE_TAGS_MAX).optional(),
  isSystemTemplate: z.boolean().optional().describe('needs the platform permission'),
}) satisfies z.ZodType<CreateTemplateBody>;

export const updateBody = z
  .strictObject(contentFields)
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' }) satisfies z.ZodType<TemplateChanges>;

export const parentBody = z.strictObject({ parentTemplateId: z.uuid().nullable() });
export const tagsBody = z.strictObject({ tags: z.array(tag).min(1).max(TEMPLATE_TAGS_MAX) });
export const tagKeysBody = z.strictObject({ tags: z.array(tagKey).min(1).max(TEMPLATE_TAGS_MAX) });

export const usageBody = z.strictObject({
  usageType: z.enum(USAGE_TYPES),
  customizations: jsonObject.default({}),
  outcome: z.enum(USAGE_OUTCOMES),
  errorMessage: z.string().max(TEMPLATE_ERROR_MESSAGE_MAX).nullable().optional(),
  courseId: z.uuid().nullable().optional(),
}) satisfies z.ZodType<Omit<RecordTemplateUsageData, 'usedBy'>>;

export const idParams = z.strictObject({ templateId: z.uuid() });
export const versionParams = z.strictObject({ templateId: z.uuid(), version: z.coerce.number().int().min(1).max(INT4_MAX) });
export const accepted = z.object({
  templateId: z.string(),
  revision: z.number().int(),
  version: z.number().int().nullable(),
  position: z.string(),
});

export const templateResponse = z.object({
  templateId: z.string(),
  ownerTenantId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  categoryId: z.string().nullable(),
  templateType: z.string(),
  status: z.string(),
  parentTemplateId: z.string().nullable(),
  isPublic: z.boolean(),
  isSystemTemplate: z.boolean(),
  version: z.number().int(),
  revision: z.number().int(),
  content: jsonObject,
  effective: jsonObject,
  parentUnavailable: z
    .boolean()
    .describe(
      'the parent is no longer visible to this template’s tenant (another tenant made it private): `effective` keeps what it inherited up to then, and nothing the parent’s owner writes later reaches it',
    ),
  usageCount: z.number().int(),
  lastUsedAt: z.string().nullable(),
  favoritesCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

/** One template, read model or as of a moment (the fold has no statistics or audit fields). */
export const oneTemplateResponse = templateResponse.partial({
  usageCount: true,
  lastUsedAt: true,
  favoritesCount: true,
  createdAt: true,
  updatedAt: true,
  createdBy: true,
  updatedBy: true,
});

/** An ISO date-time, or an ISO date meaning the start of that day in UTC. */
export const asOfQuery = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))
  .optional()
  .describe('ISO date-time (e.g. 2026-11-26T09:30:00Z) or date (2026-11-26 = start of that day, UTC)');

export const oneTemplateQuery = z.strictObject({ asOf: asOfQuery, minPosition: minPositionQuery });

const commaSeparated = (maxLength: number, normalize: (value: string) => string = (value) => value) =>
  z
    .string()
    .max(maxLength)
    .transform((s) =>
      s
        .split(',')
        .map((v) => normalize(v.trim()))
        .filter(Boolean),
    );

const csv = <T extends readonly [string, ...string[]]>(values: T) =>
  commaSeparated(CSV_TEXT_MAX)
    .pipe(z.array(z.enum(values)).max(CSV_ENTRIES_MAX))
    .optional();

/** `type:name`, the way search takes a tag. */
const TAG_FILTER = new RegExp(`^(${TAG_TYPES.join('|')}):.{1,${TEMPLATE_TAG_NAME_MAX}}$`);

export const searchQuery = z
  .strictObject({
    status: csv(TEMPLATE_STATUSES).describe('comma-separated; default active'),
    categoryIds: commaSeparated(CATEGORY_IDS_TEXT_MAX).pipe(z.array(z.uuid()).max(CATEGORY_IDS_MAX)).optional(),
    templateTypes: csv(TEMPLATE_TYPES),
    skillLevels: csv(SKILL_LEVELS),
    q: z.string().trim().min(1).max(KEYWORDS_MAX).optional().describe('keywords over name, description and tags (prefix match)'),
    tags: commaSeparated(CSV_TEXT_MAX, (v) => v.toLowerCase())
      .pipe(z.array(z.string().regex(TAG_FILTER, 'type:name')).max(CSV_ENTRIES_MAX))
      .optional(),
    // Bounded by their columns (price_minor bigint, read as a safe JS integer; duration integer): a value
    // past them reached the database and failed there (500).
    priceMin: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    priceMax: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    durationMin: z.coerce.number().int().min(0).max(INT4_MAX).optional(),
    durationMax: z.coerce.number().int().min(0).max(INT4_MAX).optional(),
    favoritesOnly: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    popularOnly: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    sort: z.enum(SEARCH_SORTS).default('name'),
    order: z.enum(['asc', 'desc']).optional(),
    ...pageQuery,
    minPosition: minPositionQuery,
  })
  .refine((q) => q.priceMin === undefined || q.priceMax === undefined || q.priceMin <= q.priceMax, {
    message: 'priceMin must not exceed priceMax',
    path: ['priceMin'],
  })
  .refine((q) => q.durationMin === undefined || q.durationMax === undefined || q.durationMin <= q.durationMax, {
    message: 'durationMin must not exceed durationMax',
    path: ['durationMin'],
  });

export const searchResponse = pageResponse(templateResponse);

export const minPositionOnly = z.strictObject({ minPosition: minPositionQuery });

export const statsResponse = z.object({
  templates: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()),
  activeCount: z.number().int(),
  usages: z.number().int(),
  successfulUsages: z.number().int(),
  successRate: z.number().nullable(),
  mostUsed: z.array(z.object({ templateId: z.string(), name: z.string(), usageCount: z.number().int() })),
});

export const pagedQuery = z.strictObject({ ...pageQuery, minPosition: minPositionQuery });

export const versionsResponse = pageResponse(
  z.object({
    version: z.number().int(),
    content: jsonObject,
    parentTemplateId: z.string().nullable(),
    eventType: z.string(),
    changedBy: z.string(),
    changedAt: z.string(),
  }),
);

export const historyResponse = pageResponse(
  z.object({
    revision: z.number().int(),
    eventType: z.string(),
    changes: jsonObject,
    tenantId: z.string(),
    userId: z.string(),
    correlationId: z.string().nullable(),
    occurredAt: z.string(),
  }),
);

export const usageQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(USAGE_DAYS_MAX).default(30),
  minPosition: minPositionQuery,
});

export const usageResponse = z.object({
  templateId: z.string(),
  usageCount: z.number().int(),
  successCount: z.number().int(),
  lastUsedAt: z.string().nullable(),
  byDay: z.array(z.object({ day: z.string(), usageType: z.string(), successCount: z.number().int(), errorCount: z.number().int() })),
});
