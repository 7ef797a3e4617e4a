// The course template aggregate. Rules that need other templates (the parent chain: validateParentChain
// in template-inheritance.ts; unique names per tenant) and tenancy (assertTenantMayChange) are checked by
// the command layer before deciding; everything here depends on this template's own events only.
//
// Versions: TemplateCreated is version 1; every change of content (TemplateUpdated, TemplateParentChanged,
// TemplateVersionRestored, TemplateTagsAdded, TemplateTagsRemoved) carries the next version, and evolve
// keeps a snapshot of the content per version. Status, favorites and usage are not content.
// No-ops emit nothing: an update, tag change, parent change or restore that leaves the content as it is,
// a status command whose target is the current status, favoriting twice, unfavoriting a non-favorite.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import type { TemplateCommand } from './template-commands.js';
import { USAGE_TYPES, type CreateTemplateData, type RecordTemplateUsageData } from './template-commands.js';
import {
  DEFAULT_MERGE_STRATEGY,
  UPDATABLE_FIELDS,
  type TemplateChanges,
  type TemplateContent,
  type TemplateStatus,
  type TemplateTag,
} from './template-content.js';
import type { TemplateEvent } from './template-events.js';
import { cloneJson, jsonEqual, validJsonObject, type JsonValue } from './template-json.js';
import { assertTransition } from './template-lifecycle.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';
import {
  TEMPLATE_ERROR_MESSAGE_MAX,
  TEMPLATE_TAGS_MAX,
  tagKey,
  validBoolean,
  validDescription,
  validDuration,
  validMergeStrategy,
  validName,
  validOptionalUuid,
  validOwnerTenantId,
  validParticipants,
  validPrice,
  validSelectiveKeys,
  validSkillLevel,
  validTagKeys,
  validTags,
  validTemplateId,
  validTemplateType,
  validUserId,
} from './template-validation.js';

const notFound = () => new RuleViolation('template.not_found', 'no such template', 'not_found');
const archivedViolation = () => new RuleViolation('template.archived', 'an archived template cannot change or be used; unarchive it first', 'conflict', 'status');

function validParentId(raw: unknown, templateId: string): string | null {
  const parentTemplateId = validOptionalUuid(raw, 'template.parent.format', 'parentTemplateId');
  if (parentTemplateId !== null && parentTemplateId.toLowerCase() === templateId.toLowerCase()) {
    throw new RuleViolation('template.parent.self', 'a template cannot be its own parent', 'invalid', 'parentTemplateId');
  }
  return parentTemplateId;
}

function createdContent(data: CreateTemplateData): TemplateContent {
  const participants = validParticipants(data.defaultMinParticipants, data.defaultMaxParticipants);
  return {
    name: validName(data.name),
    description: validDescription(data.description),
    categoryId: validOptionalUuid(data.categoryId, 'template.category.format', 'categoryId'),
    templateType: validTemplateType(data.templateType),
    mergeStrategy: validMergeStrategy(data.mergeStrategy ?? DEFAULT_MERGE_STRATEGY),
    selectiveKeys: validSelectiveKeys(data.selectiveKeys ?? []),
    defaultDuration: validDuration(data.defaultDuration),
    defaultMaxParticipants: participants.max,
    defaultMinParticipants: participants.min,
    defaultPrice: validPrice(data.defaultPrice),
    defaultSkillLevel: validSkillLevel(data.defaultSkillLevel),
    dynamicProperties: validJsonObject(data.dynamicProperties ?? {}, 'dynamicProperties'),
    validationRules: validJsonObject(data.validationRules ?? {}, 'validationRules'),
    uiConfiguration: validJsonObject(data.uiConfiguration ?? {}, 'uiConfiguration'),
    tags: validTags(data.tags ?? []),
    isPublic: validBoolean(data.isPublic ?? false, 'isPublic'),
  };
}

const given = (data: object, key: string): boolean => Object.hasOwn(data, key) && (data as Record<string, unknown>)[key] !== undefined;

/** The fields of an update that really change the content, validated against the resulting content. */
function changedFields(data: TemplateChanges, current: TemplateContent): TemplateChanges {
  const raw = data as Record<string, unknown>;
  const next: Record<string, unknown> = {};
  if (given(data, 'name')) next.name = validName(raw.name);
  if (given(data, 'description')) next.description = validDescription(raw.description);
  if (given(data, 'categoryId')) next.categoryId = validOptionalUuid(raw.categoryId, 'template.category.format', 'categoryId');
  if (given(data, 'templateType')) next.templateType = validTemplateType(raw.templateType);
  if (given(data, 'mergeStrategy')) next.mergeStrategy = validMergeStrategy(raw.mergeStrategy);
  if (given(data, 'selectiveKeys')) next.selectiveKeys = validSelectiveKeys(raw.selectiveKeys);
  if (given(data, 'defaultDuration')) next.defaultDuration = validDuration(raw.defaultDuration);
  if (given(data, 'defaultMinParticipants') || given(data, 'defaultMaxParticipants')) {
    const min = given(data, 'defaultMinParticipants') ? raw.defaultMinParticipants : current.defaultMinParticipants;
    const max = given(data, 'defaultMaxParticipants') ? raw.defaultMaxParticipants : current.defaultMaxParticipants;
    const participants = validParticipants(min, max);
    if (given(data, 'defaultMinParticipants')) next.defaultMinParticipants = participants.min;
    if (given(data, 'defaultMaxParticipants')) next.defaultMaxParticipants = participants.max;
  }
  if (given(data, 'defaultPrice')) next.defaultPrice = validPrice(raw.defaultPrice);
  if (given(data, 'defaultSkillLevel')) next.defaultSkillLevel = validSkillLevel(raw.defaultSkillLevel);
  for (const field of ['dynamicProperties', 'validationRules', 'uiConfiguration'] as const) {
    if (given(data, field)) next[field] = validJsonObject(raw[field], field);
  }
  if (given(data, 'isPublic')) next.isPublic = validBoolean(raw.isPublic, 'isPublic');

  const changes: Record<string, unknown> = {};
  for (const field of UPDATABLE_FIELDS) {
    if (Object.hasOwn(next, field) && !jsonEqual(next[field] as JsonValue, current[field] as JsonValue)) changes[field] = next[field];
  }
  return changes as TemplateChanges;
}

function addTags(data: { tags: TemplateTag[] }, state: LiveTemplateState): TemplateTag[] {
  const existing = new Map(state.content.tags.map((tag) => [tagKey(tag), tag]));
  const added = validTags(data.tags).filter((tag, i) => {
    const same = existing.get(tagKey(tag));
    if (same === undefined) return true;
    if (same.value === tag.value) return false; // already there: idempotent
    throw new RuleViolation('template.tags.duplicate', `tag ${tag.type}:${same.name} already exists with another value`, 'conflict', `tags.${i}.name`);
  });
  if (state.content.tags.length + added.length > TEMPLATE_TAGS_MAX) {
    throw new RuleViolation('template.tags.count', `a template has at most ${TEMPLATE_TAGS_MAX} tags`, 'invalid', 'tags');
  }
  return added;
}

function validUsage(data: RecordTemplateUsageData): Extract<TemplateEvent, { type: 'TemplateUsageRecorded' }>['data'] {
  if (!(USAGE_TYPES as readonly unknown[]).includes(data.usageType)) {
    throw new RuleViolation('template.usage.type', `usageType must be one of ${USAGE_TYPES.join(', ')}`, 'invalid', 'usageType');
  }
  if (data.outcome !== 'success' && data.outcome !== 'error') throw new RuleViolation('template.usage.outcome', "outcome must be 'success' or 'error'", 'invalid', 'outcome');
  const errorMessage = data.errorMessage ?? null;
  if (errorMessage !== null && (data.outcome === 'success' || typeof errorMessage !== 'string' || errorMessage.length > TEMPLATE_ERROR_MESSAGE_MAX)) {
    throw new RuleViolation('template.usage.error_message', `errorMessage goes only with outcome 'error', at most ${TEMPLATE_ERROR_MESSAGE_MAX} characters`, 'invalid', 'errorMessage');
  }
  return {
    usageType: data.usageType,
    customizations: validJsonObject(data.customizations ?? {}, 'customizations'),
    outcome: data.outcome,
    errorMessage,
    usedBy: validUserId(data.usedBy, 'usedBy'),
    courseId: validOptionalUuid(data.courseId, 'template.usage.course_id', 'courseId'),
    templateVersion: 0, // filled in by decide
  };
}

function transition(state: LiveTemplateState, to: TemplateStatus): TemplateEvent[] {
  if (state.status === to) return [];
  assertTransition(state.status, to);
  const data = { from: state.status };
  switch (to) {
    case 'active':
      return [{ type: 'TemplateActivated', data }];
    case 'archived':
      return [{ type: 'TemplateArchived', data }];
    case 'deprecated':
      return [{ type: 'TemplateDeprecated', data }];
    case 'draft':
      return [{ type: 'TemplateUnarchived', data }];
  }
}

function decide(command: TemplateCommand, state: TemplateState): TemplateEvent[] {
  if (command.type === 'CreateTemplate') {
    if (state.status !== 'absent') throw new RuleViolation('template.exists', 'this template already exists', 'conflict', 'templateId');
    const data = command.data;
    const templateId = validTemplateId(data.templateId);
    const ownerTenantId = validOwnerTenantId(data.ownerTenantId);
    const parentTemplateId = validParentId(data.parentTemplateId, templateId);
    const content = createdContent(data);
    const isSystemTemplate = validBoolean(data.isSystemTemplate ?? false, 'isSystemTemplate');
    return [{ type: 'TemplateCreated', data: { templateId, ownerTenantId, parentTemplateId, isSystemTemplate, status: 'draft', version: 1, ...content } }];
  }
  if (state.status === 'absent') throw notFound();
  const version = state.version + 1;
  switch (command.type) {
    case 'UpdateTemplate': {
      if (state.status === 'archived') throw archivedViolation();
      const changes = changedFields(command.data, state.content);
      return Object.keys(changes).length === 0 ? [] : [{ type: 'TemplateUpdated', data: { changes, version } }];
    }
    case 'ChangeTemplateParent': {
      if (state.status === 'archived') throw archivedViolation();
      const parentTemplateId = validParentId(command.data.parentTemplateId, state.templateId);
      if (parentTemplateId === state.parentTemplateId) return [];
      return [{ type: 'TemplateParentChanged', data: { parentTemplateId, previousParentTemplateId: state.parentTemplateId, version } }];
    }
    case 'ActivateTemplate':
      return transition(state, 'active');
    case 'ArchiveTemplate':
      return transition(state, 'archived');
    case 'DeprecateTemplate':
      return transition(state, 'deprecated');
    case 'UnarchiveTemplate':
      return transition(state, 'draft');
    case 'RestoreTemplateVersion': {
      if (state.status === 'archived') throw archivedViolation();
      const restoredFrom = command.data.version;
      const content = Number.isInteger(restoredFrom) && Object.hasOwn(state.versions, restoredFrom) ? state.versions[restoredFrom] : undefined;
      if (content === undefined) throw new RuleViolation('template.version.unknown', `version ${String(restoredFrom)} does not exist`, 'not_found', 'version');
      if (jsonEqual(content, state.content)) return [];
      return [{ type: 'TemplateVersionRestored', data: { restoredFrom, version, content: cloneJson(content) } }];
    }
    case 'AddTemplateTags': {
      if (state.status === 'archived') throw archivedViolation();
      const tags = addTags(command.data, state);
      return tags.length === 0 ? [] : [{ type: 'TemplateTagsAdded', data: { tags, version } }];
    }
    case 'RemoveTemplateTags': {
      if (state.status === 'archived') throw archivedViolation();
      const keys = new Set(validTagKeys(command.data.tags).map(tagKey));
      const tags = state.content.tags.filter((tag) => keys.has(tagKey(tag))).map(({ name, type }) => ({ name, type }));
      return tags.length === 0 ? [] : [{ type: 'TemplateTagsRemoved', data: { tags, version } }];
    }
    case 'FavoriteTemplate': {
      if (state.status === 'archived') throw archivedViolation();
      const userId = validUserId(command.data.userId, 'userId');
      return state.favorites.includes(userId) ? [] : [{ type: 'TemplateFavorited', data: { userId } }];
    }
    case 'UnfavoriteTemplate': {
      const userId = validUserId(command.data.userId, 'userId');
      return state.favorites.includes(userId) ? [{ type: 'TemplateUnfavorited', data: { userId } }] : [];
    }
    case 'RecordTemplateUsage': {
      if (state.status === 'archived') throw archivedViolation();
      if (state.status === 'draft') throw new RuleViolation('template.usage.status', 'a draft template cannot be used; activate it first', 'conflict', 'status');
      return [{ type: 'TemplateUsageRecorded', data: { ...validUsage(command.data), templateVersion: state.version } }];
    }
  }
}

function withContent(state: LiveTemplateState, content: TemplateContent, version: number): LiveTemplateState {
  return { ...state, content, version, versions: { ...state.versions, [version]: content } };
}

function evolve(state: TemplateState, event: TemplateEvent): TemplateState {
  if (event.type === 'TemplateCreated') {
    const { templateId, ownerTenantId, parentTemplateId, isSystemTemplate, status, version, ...content } = event.data;
    return {
      status,
      templateId,
      ownerTenantId,
      isSystemTemplate,
      parentTemplateId,
      content,
      version,
      versions: { [version]: content },
      favorites: [],
      usageCount: 0,
      failedUsageCount: 0,
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'TemplateUpdated':
      return withContent(state, { ...state.content, ...event.data.changes }, event.data.version);
    case 'TemplateParentChanged':
      return { ...withContent(state, state.content, event.data.version), parentTemplateId: event.data.parentTemplateId };
    case 'TemplateActivated':
      return { ...state, status: 'active' };
    case 'TemplateArchived':
      return { ...state, status: 'archived' };
    case 'TemplateDeprecated':
      return { ...state, status: 'deprecated' };
    case 'TemplateUnarchived':
      return { ...state, status: 'draft' };
    case 'TemplateVersionRestored':
      return withContent(state, event.data.content, event.data.version);
    case 'TemplateTagsAdded':
      return withContent(state, { ...state.content, tags: [...state.content.tags, ...event.data.tags] }, event.data.version);
    case 'TemplateTagsRemoved': {
      const removed = new Set(event.data.tags.map(tagKey));
      return withContent(state, { ...state.content, tags: state.content.tags.filter((tag) => !removed.has(tagKey(tag))) }, event.data.version);
    }
    case 'TemplateFavorited':
      return state.favorites.includes(event.data.userId) ? state : { ...state, favorites: [...state.favorites, event.data.userId] };
    case 'TemplateUnfavorited':
      return { ...state, favorites: state.favorites.filter((userId) => userId !== event.data.userId) };
    case 'TemplateUsageRecorded':
      return event.data.outcome === 'success' ? { ...state, usageCount: state.usageCount + 1 } : { ...state, failedUsageCount: state.failedUsageCount + 1 };
  }
}

export const templateDecider: Decider<TemplateState, TemplateCommand, TemplateEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
