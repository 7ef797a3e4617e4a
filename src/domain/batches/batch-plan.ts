// The plan of a batch: one operation kind, its items and its options, validated for shape only.
//
// Shape vs. integrity: this file checks what an item must look like to be understood at all (an object,
// a UUID templateId, a revision that is a whole number, update changes naming only updatable fields, …)
// and refuses the whole batch, naming the item by index and field ('items.3.templateId'). Whether the
// values would make a valid template (name length, price ≥ 0, min ≤ max participants, the status
// transition) depends on the template as it is now, so it is an *integrity conflict* reported per item
// by batch-conflicts.ts, which runs the template domain's own rules.
import type { JsonObject, JsonValue } from '../json.js';
import { RuleViolation } from '../rule-violation.js';
import type { CreateTemplateData } from '../templates/template-commands.js';
import { UPDATABLE_FIELDS } from '../templates/template-content.js';
import { cloneJson, isPlainObject } from '../templates/template-json.js';
import { isUuid } from '../uuid.js';
import { assertWithinScheduleHorizon } from '../schedule-horizon.js';

/** What a client may ask for. 'restore' is internal: only an undo plan makes it (StartUndoBatch). */
export const BATCH_OPERATIONS = ['create', 'update', 'changeParent', 'archive', 'delete'] as const;
export type PublicBatchOperation = (typeof BATCH_OPERATIONS)[number];
export type BatchOperation = PublicBatchOperation | 'restore';

export const CONFLICT_RESOLUTIONS = ['abort', 'skip', 'override', 'merge'] as const;
export type ConflictResolution = (typeof CONFLICT_RESOLUTIONS)[number];

/**
 * Ranges and defaults of the options. `priority`: 1 runs first, 10 last (BullMQ's order). `maxAttempts`:
 * how many times a worker runs an item whose failure is retryable before the failure is final.
 */
export const BATCH_OPTION_LIMITS = {
  chunkSize: { min: 1, max: 10_000, default: 100 },
  concurrency: { min: 1, max: 100, default: 4 },
  priority: { min: 1, max: 10, default: 5 },
  maxAttempts: { min: 1, max: 10, default: 3 },
} as const;

export type BatchOptions = {
  chunkSize: number;
  concurrency: number;
  conflictResolution: ConflictResolution;
  priority: number;
  maxAttempts: number;
  /** ISO-8601 instant, or null to start at once. */
  scheduledAt: string | null;
  dryRun: boolean;
};

/**
 * What an undo brings a template back to: its state before the batch. `exists: false` means the batch
 * created it (the undo removes it again); otherwise the content version, status and parent it had.
 */
export type RestoreTarget = {
  exists: boolean;
  version: number | null;
  status: 'draft' | 'active' | 'archived' | 'deprecated' | null;
  parentTemplateId: string | null;
};

/**
 * One item, normalized. `expectedRevision` is the template stream revision the item was prepared
 * against (null: not checked; always null for create). `create` and `changes` hold the client's values
 * as given (JSON); the template domain validates them (integrity).
 */
export type BatchItem =
  | { operation: 'create'; templateId: string; expectedRevision: null; create: JsonObject }
  | { operation: 'update'; templateId: string; expectedRevision: number | null; changes: JsonObject }
  | { operation: 'changeParent'; templateId: string; expectedRevision: number | null; parentTemplateId: string | null }
  | { operation: 'archive'; templateId: string; expectedRevision: number | null }
  | { operation: 'delete'; templateId: string; expectedRevision: number | null }
  | { operation: 'restore'; templateId: string; expectedRevision: number | null; restore: RestoreTarget };

export type BatchPlan = { operation: BatchOperation; items: BatchItem[]; options: BatchOptions };

/** The raw request, as the HTTP layer received it. */
export type BatchPlanInput = {
  operation: unknown;
  items: unknown;
  /** For "one change for many ids": update items may then omit `changes`. */
  sharedChanges?: unknown;
  options?: unknown;
};

const shape = (index: number, field: string, message: string) =>
  new RuleViolation('batch.item.shape', `items[${index}]: ${message}`, 'invalid', `items.${index}.${field}`);

const option = (field: string, message: string) => new RuleViolation('batch.options.invalid', message, 'invalid', `options.${field}`);

function wholeNumberIn(raw: unknown, field: keyof typeof BATCH_OPTION_LIMITS): number {
  const { min, max, default: fallback } = BATCH_OPTION_LIMITS[field];
  if (raw === undefined) return fallback;
  if (!Number.isInteger(raw) || (raw as number) < min || (raw as number) > max)
    throw option(field, `${field} must be a whole number, ${min}–${max}`);
  return raw as number;
}

/** Options with defaults filled in. `now` (ISO) is the caller's clock: a scheduled start must be later. */
export function validateBatchOptions(raw: unknown, now: string): BatchOptions {
  if (raw !== undefined && !isPlainObject(raw)) throw option('', 'options must be an object');
  const input = (raw ?? {}) as Record<string, unknown>;
  const conflictResolution = input.conflictResolution ?? 'abort';
  if (!(CONFLICT_RESOLUTIONS as readonly unknown[]).includes(conflictResolution)) {
    throw option('conflictResolution', `conflictResolution must be one of ${CONFLICT_RESOLUTIONS.join(', ')}`);
  }
  const scheduledAt = input.scheduledAt ?? null;
  if (scheduledAt !== null) {
    const at = typeof scheduledAt === 'string' ? Date.parse(scheduledAt) : Number.NaN;
    if (Number.isNaN(at)) throw option('scheduledAt', 'scheduledAt must be an ISO-8601 instant or null');
    if (at <= Date.parse(now))
      throw new RuleViolation('batch.scheduled_at.past', 'scheduledAt must be in the future', 'invalid', 'options.scheduledAt');
    assertWithinScheduleHorizon(at, Date.parse(now), 'batch.scheduled_at.too_far', 'options.scheduledAt');
  }
  const dryRun = input.dryRun ?? false;
  if (typeof dryRun !== 'boolean') throw option('dryRun', 'dryRun must be true or false');
  return {
    chunkSize: wholeNumberIn(input.chunkSize, 'chunkSize'),
    concurrency: wholeNumberIn(input.concurrency, 'concurrency'),
    conflictResolution: conflictResolution as ConflictResolution,
    priority: wholeNumberIn(input.priority, 'priority'),
    maxAttempts: wholeNumberIn(input.maxAttempts, 'maxAttempts'),
    scheduledAt: scheduledAt === null ? null : new Date(Date.parse(scheduledAt as string)).toISOString(),
    dryRun,
  };
}

function templateIdOf(item: Record<string, unknown>, index: number, field = 'templateId'): string {
  const raw = item[field];
  if (typeof raw !== 'string' || !isUuid(raw)) throw shape(index, field, `${field} must be a UUID`);
  return raw.toLowerCase();
}

function revisionOf(item: Record<string, unknown>, index: number): number | null {
  const raw = item.expectedRevision ?? null;
  if (raw !== null && (!Number.isSafeInteger(raw) || (raw as number) < 0))
    throw shape(index, 'expectedRevision', 'expectedRevision must be a whole number ≥ 0 or null');
  return raw as number | null;
}

const UPDATABLE: readonly string[] = UPDATABLE_FIELDS;

/** `at` is the path of the changes in the request: 'items.3.changes' or 'sharedChanges'. */
function changesOf(raw: unknown, at: string): JsonObject {
  const refuse = (field: string, message: string) => new RuleViolation('batch.item.shape', `${at}: ${message}`, 'invalid', field);
  if (!isPlainObject(raw)) throw refuse(at, 'changes must be an object');
  const keys = Object.keys(raw);
  if (keys.length === 0) throw refuse(at, 'changes must change at least one field');
  const unknown = keys.find((key) => !UPDATABLE.includes(key));
  if (unknown !== undefined) throw refuse(`${at}.${unknown}`, `${unknown} cannot be changed by an update (one of ${UPDATABLE.join(', ')})`);
  return cloneJson(raw);
}

/** The fields of CreateTemplateData a batch item may give. Not ownerTenantId (the batch tenant owns what it
 * creates) nor isSystemTemplate (system templates need the platform permission, one at a time). */
export const CREATE_ITEM_FIELDS: readonly string[] = [
  'templateId',
  'name',
  'templateType',
  'description',
  'categoryId',
  'parentTemplateId',
  'mergeStrategy',
  'selectiveKeys',
  'defaultDuration',
  'defaultMaxParticipants',
  'defaultMinParticipants',
  'defaultPrice',
  'defaultSkillLevel',
  'dynamicProperties',
  'validationRules',
  'uiConfiguration',
  'tags',
  'isPublic',
] satisfies readonly (keyof CreateTemplateData)[];

function createOf(item: Record<string, unknown>, index: number): JsonObject {
  const unknown = Object.keys(item).find((key) => !CREATE_ITEM_FIELDS.includes(key));
  if (unknown !== undefined)
    throw shape(index, unknown, `${unknown} cannot be given to a batch create (one of ${CREATE_ITEM_FIELDS.join(', ')})`);
  if (typeof item.name !== 'string') throw shape(index, 'name', 'name must be a string');
  if (typeof item.templateType !== 'string') throw shape(index, 'templateType', 'templateType must be a string');
  const parent = item.parentTemplateId ?? null;
  if (parent !== null && (typeof parent !== 'string' || !isUuid(parent)))
    throw shape(index, 'parentTemplateId', 'parentTemplateId must be a UUID or null');
  const { templateId: _id, ...fields } = item;
  return cloneJson({ ...(fields as JsonObject), parentTemplateId: parent === null ? null : (parent as string).toLowerCase() });
}

function itemOf(operation: PublicBatchOperation, raw: unknown, index: number, sharedChanges: JsonObject | null): BatchItem {
  if (!isPlainObject(raw)) throw shape(index, '', 'each item must be an object');
  const item = raw as Record<string, unknown>;
  const templateId = templateIdOf(item, index);
  switch (operation) {
    case 'create':
      return { operation, templateId, expectedRevision: null, create: createOf(item, index) };
    case 'update': {
      const changes =
        item.changes === undefined && sharedChanges !== null ? cloneJson(sharedChanges) : changesOf(item.changes, `items.${index}.changes`);
      return { operation, templateId, expectedRevision: revisionOf(item, index), changes };
    }
    case 'changeParent': {
      if (!('parentTemplateId' in item)) throw shape(index, 'parentTemplateId', 'parentTemplateId is required (null detaches)');
      const parentTemplateId = item.parentTemplateId === null ? null : templateIdOf(item, index, 'parentTemplateId');
      return { operation, templateId, expectedRevision: revisionOf(item, index), parentTemplateId };
    }
    case 'archive':
    case 'delete':
      return { operation, templateId, expectedRevision: revisionOf(item, index) };
  }
}

/**
 * A create item may leave `templateId` out: it gets `idOf(index)`, which the caller derives from the batch
 * id and the index (commands/batches), so a retried request (the same batch) creates the same templates.
 * Every other operation names existing templates and still needs the id; anything that is not a list of
 * objects is left for validateBatchPlan to refuse.
 */
export function withCreateItemIds(input: BatchPlanInput, idOf: (index: number) => string): BatchPlanInput {
  if (input.operation !== 'create' || !Array.isArray(input.items)) return input;
  const items = (input.items as unknown[]).map((item, index) =>
    isPlainObject(item) && !Object.hasOwn(item, 'templateId') ? { templateId: idOf(index), ...item } : item,
  );
  return { ...input, items };
}

/**
 * The plan of a client's batch, or a refusal: 'batch.operation.unknown', 'batch.items.empty',
 * 'batch.items.too_many' (more than `maxItems`, the tenant's limit), 'batch.item.shape' (by index and
 * field), 'batch.item.duplicate' (two items on one template: their order would matter and undo could not
 * tell them apart), 'batch.options.invalid', 'batch.scheduled_at.past'.
 */
export function validateBatchPlan(input: BatchPlanInput, limits: { maxItems: number; now: string }): BatchPlan {
  const operation = input.operation;
  if (!(BATCH_OPERATIONS as readonly unknown[]).includes(operation)) {
    throw new RuleViolation('batch.operation.unknown', `operation must be one of ${BATCH_OPERATIONS.join(', ')}`, 'invalid', 'operation');
  }
  if (!Array.isArray(input.items)) throw new RuleViolation('batch.items.empty', 'items must be a non-empty list', 'invalid', 'items');
  if (input.items.length === 0) throw new RuleViolation('batch.items.empty', 'a batch needs at least one item', 'invalid', 'items');
  if (input.items.length > limits.maxItems) {
    throw new RuleViolation(
      'batch.items.too_many',
      `a batch has at most ${limits.maxItems} items; got ${input.items.length}`,
      'invalid',
      'items',
    );
  }
  const options = validateBatchOptions(input.options, limits.now);
  let sharedChanges: JsonObject | null = null;
  if (input.sharedChanges !== undefined) {
    if (operation !== 'update')
      throw new RuleViolation('batch.shared_changes.operation', 'sharedChanges goes only with update', 'invalid', 'sharedChanges');
    sharedChanges = changesOf(input.sharedChanges, 'sharedChanges');
  }
  const seen = new Map<string, number>();
  const items = (input.items as JsonValue[]).map((raw, index) => {
    const item = itemOf(operation as PublicBatchOperation, raw, index, sharedChanges);
    const first = seen.get(item.templateId);
    if (first !== undefined) {
      throw new RuleViolation(
        'batch.item.duplicate',
        `items[${index}] targets the same template as items[${first}]`,
        'invalid',
        `items.${index}.templateId`,
      );
    }
    seen.set(item.templateId, index);
    return item;
  });
  return { operation: operation as PublicBatchOperation, items, options };
}
