// Field rules of the course template. Each check returns the normalized value or throws a RuleViolation
// whose `field` names the input at fault (e.g. 'defaultMinParticipants', 'tags.3.name').
import { TENANT_ID_PATTERN } from '../principal.js';
import { RuleViolation } from '../rule-violation.js';
import {
  MERGE_STRATEGIES,
  SKILL_LEVELS,
  TAG_TYPES,
  TEMPLATE_TYPES,
  type MergeStrategy,
  type Money,
  type SkillLevel,
  type TemplateTag,
  type TemplateTagKey,
  type TemplateType,
} from './template-content.js';
import { isUuid } from '../uuid.js';

export const TEMPLATE_NAME_MAX = 255;
export const TEMPLATE_DESCRIPTION_MAX = 5000;
/** One week, in minutes. */
export const TEMPLATE_DURATION_MAX = 10_080;
export const TEMPLATE_TAGS_MAX = 50;
export const TEMPLATE_TAG_NAME_MAX = 64;
export const TEMPLATE_TAG_VALUE_MAX = 256;
export const TEMPLATE_SELECTIVE_KEYS_MAX = 100;
export const TEMPLATE_USER_ID_MAX = 200;
export const TEMPLATE_ERROR_MESSAGE_MAX = 2000;

/** An ISO 4217 currency code. */
export const CURRENCY_CODE = /^[A-Z]{3}$/;

const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T =>
  typeof value === 'string' && (values as readonly string[]).includes(value);

export function validName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name.length < 1 || name.length > TEMPLATE_NAME_MAX) {
    throw new RuleViolation('template.name.length', `name must be 1–${TEMPLATE_NAME_MAX} characters`, 'invalid', 'name');
  }
  return name;
}

export function validDescription(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'string' || raw.length > TEMPLATE_DESCRIPTION_MAX) {
    throw new RuleViolation(
      'template.description.length',
      `description must be at most ${TEMPLATE_DESCRIPTION_MAX} characters`,
      'invalid',
      'description',
    );
  }
  return raw;
}

export function validTemplateId(raw: unknown, field = 'templateId'): string {
  if (typeof raw !== 'string' || !isUuid(raw)) throw new RuleViolation('template.id.format', `${field} must be a UUID`, 'invalid', field);
  return raw;
}

export function validOptionalUuid(raw: unknown, rule: string, field: string): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'string' || !isUuid(raw)) throw new RuleViolation(rule, `${field} must be a UUID or null`, 'invalid', field);
  return raw;
}

export function validOwnerTenantId(raw: unknown): string {
  if (typeof raw !== 'string' || !TENANT_ID_PATTERN.test(raw))
    throw new RuleViolation('template.owner.format', 'ownerTenantId must be a tenant id', 'invalid', 'ownerTenantId');
  return raw;
}

export function validUserId(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || raw.length < 1 || raw.length > TEMPLATE_USER_ID_MAX) {
    throw new RuleViolation('template.user_id.format', `${field} must be 1–${TEMPLATE_USER_ID_MAX} characters`, 'invalid', field);
  }
  return raw;
}

export function validTemplateType(raw: unknown): TemplateType {
  if (!isOneOf(TEMPLATE_TYPES, raw))
    throw new RuleViolation('template.type.enum', `templateType must be one of ${TEMPLATE_TYPES.join(', ')}`, 'invalid', 'templateType');
  return raw;
}

export function validMergeStrategy(raw: unknown): MergeStrategy {
  if (!isOneOf(MERGE_STRATEGIES, raw)) {
    throw new RuleViolation(
      'template.merge_strategy.enum',
      `mergeStrategy must be one of ${MERGE_STRATEGIES.join(', ')}`,
      'invalid',
      'mergeStrategy',
    );
  }
  return raw;
}

/** Top-level keys taken from the child under the 'selective' strategy: distinct, 1–255 characters each. */
export function validSelectiveKeys(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length > TEMPLATE_SELECTIVE_KEYS_MAX) {
    throw new RuleViolation(
      'template.selective_keys.invalid',
      `selectiveKeys must be a list of at most ${TEMPLATE_SELECTIVE_KEYS_MAX} keys`,
      'invalid',
      'selectiveKeys',
    );
  }
  raw.forEach((key: unknown, i) => {
    if (typeof key !== 'string' || key.length < 1 || key.length > 255 || raw.indexOf(key) !== i) {
      throw new RuleViolation(
        'template.selective_keys.invalid',
        'selectiveKeys must be distinct keys of 1–255 characters',
        'invalid',
        `selectiveKeys.${i}`,
      );
    }
  });
  return [...(raw as string[])];
}

export function validDuration(raw: unknown): number | null {
  if (raw === null || raw === undefined) return null;
  if (!Number.isInteger(raw) || (raw as number) < 1 || (raw as number) > TEMPLATE_DURATION_MAX) {
    throw new RuleViolation(
      'template.duration.range',
      `defaultDuration must be a whole number of minutes, 1–${TEMPLATE_DURATION_MAX}`,
      'invalid',
      'defaultDuration',
    );
  }
  return raw as number;
}

function validParticipantCount(raw: unknown, field: string): number | null {
  if (raw === null || raw === undefined) return null;
  if (!Number.isSafeInteger(raw) || (raw as number) < 1) {
    throw new RuleViolation('template.participants.range', `${field} must be a whole number ≥ 1`, 'invalid', field);
  }
  return raw as number;
}

/** Both counts are optional; when both are given, min ≤ max ('template.participants.order' on the min). */
export function validParticipants(rawMin: unknown, rawMax: unknown): { min: number | null; max: number | null } {
  const min = validParticipantCount(rawMin, 'defaultMinParticipants');
  const max = validParticipantCount(rawMax, 'defaultMaxParticipants');
  if (min !== null && max !== null && min > max) {
    throw new RuleViolation(
      'template.participants.order',
      'defaultMinParticipants must not exceed defaultMaxParticipants',
      'invalid',
      'defaultMinParticipants',
    );
  }
  return { min, max };
}

export function validPrice(raw: unknown): Money | null {
  if (raw === null || raw === undefined) return null;
  const price = raw as Partial<Money>;
  if (typeof raw !== 'object' || !Number.isSafeInteger(price.amountMinor) || (price.amountMinor as number) < 0) {
    throw new RuleViolation(
      'template.price.range',
      'defaultPrice.amountMinor must be a whole number of minor units ≥ 0',
      'invalid',
      'defaultPrice.amountMinor',
    );
  }
  if (typeof price.currency !== 'string' || !CURRENCY_CODE.test(price.currency)) {
    throw new RuleViolation(
      'template.price.currency',
      'defaultPrice.currency must be 3 uppercase letters (ISO 4217)',
      'invalid',
      'defaultPrice.currency',
    );
  }
  return { amountMinor: price.amountMinor as number, currency: price.currency };
}

export function validSkillLevel(raw: unknown): SkillLevel | null {
  if (raw === null || raw === undefined) return null;
  if (!isOneOf(SKILL_LEVELS, raw)) {
    throw new RuleViolation(
      'template.skill_level.enum',
      `defaultSkillLevel must be one of ${SKILL_LEVELS.join(', ')} or null`,
      'invalid',
      'defaultSkillLevel',
    );
  }
  return raw;
}

export function validBoolean(raw: unknown, field: string): boolean {
  if (typeof raw !== 'boolean') throw new RuleViolation('template.flag.type', `${field} must be true or false`, 'invalid', field);
  return raw;
}

/** Tags are unique by type and case-insensitive name. */
export const tagKey = (tag: TemplateTagKey): string => `${tag.type}:${tag.name.trim().toLowerCase()}`;

function validTagKey(raw: unknown, field: string): TemplateTagKey {
  const tag = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<TemplateTag>;
  const name = typeof tag.name === 'string' ? tag.name.trim() : '';
  if (name.length < 1 || name.length > TEMPLATE_TAG_NAME_MAX) {
    throw new RuleViolation('template.tags.name', `tag names must be 1–${TEMPLATE_TAG_NAME_MAX} characters`, 'invalid', `${field}.name`);
  }
  if (!isOneOf(TAG_TYPES, tag.type))
    throw new RuleViolation('template.tags.type', `tag types are ${TAG_TYPES.join(', ')}`, 'invalid', `${field}.type`);
  return { name, type: tag.type };
}

function validTag(raw: unknown, field: string): TemplateTag {
  const { name, type } = validTagKey(raw, field);
  const value = (raw as Partial<TemplateTag>).value ?? '';
  if (typeof value !== 'string' || value.length > TEMPLATE_TAG_VALUE_MAX) {
    throw new RuleViolation(
      'template.tags.value',
      `tag values must be at most ${TEMPLATE_TAG_VALUE_MAX} characters`,
      'invalid',
      `${field}.value`,
    );
  }
  return { name, value, type };
}

function validList(raw: unknown, field: string): unknown[] {
  if (!Array.isArray(raw)) throw new RuleViolation('template.tags.type', `${field} must be a list`, 'invalid', field);
  return raw;
}

/**
 * A list of tags (names trimmed, value defaults to ''): at most TEMPLATE_TAGS_MAX ('template.tags.count'),
 * no two with the same type and case-insensitive name ('template.tags.duplicate' on the later one).
 */
export function validTags(raw: unknown, field = 'tags'): TemplateTag[] {
  const list = validList(raw, field);
  if (list.length > TEMPLATE_TAGS_MAX)
    throw new RuleViolation('template.tags.count', `at most ${TEMPLATE_TAGS_MAX} tags`, 'invalid', field);
  const seen = new Set<string>();
  return list.map((item, i) => {
    const tag = validTag(item, `${field}.${i}`);
    if (seen.has(tagKey(tag)))
      throw new RuleViolation('template.tags.duplicate', `tag ${tag.type}:${tag.name} is listed twice`, 'invalid', `${field}.${i}.name`);
    seen.add(tagKey(tag));
    return tag;
  });
}

export function validTagKeys(raw: unknown, field = 'tags'): TemplateTagKey[] {
  return validList(raw, field).map((item, i) => validTagKey(item, `${field}.${i}`));
}
