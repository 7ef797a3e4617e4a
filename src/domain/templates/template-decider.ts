// The course template aggregate. Rules that need other templates (the parent chain: validateParentChain
// in template-inheritance.ts; unique names per tenant) and tenancy (assertTenantMayChange) are checked by
// the command layer before deciding; everything here depends on this template's own events only.
//
// Versions: TemplateCreated is version 1; every change of content (TemplateUpdated, TemplateParentChanged,
// TemplateVersionRestored, TemplateTagsAdded, TemplateTagsRemoved) carries the next version, and evolve
// keeps a snapshot of the content per version. Status is not content. Favorites and usages live in their
// own streams with their own deciders (template-favorites.ts, template-usages.ts).
// Deletion is soft: TemplateDeleted makes the state absent (every rule then treats the template as missing)
// and keeps what it was, which TemplateUndeleted brings back; creating the same id again is refused.
// No-ops emit nothing: an update, tag change, parent change or restore that leaves the content as it is,
// a status command whose target is the current status.
//
// The command layer runs some of these rules before it writes elsewhere (a name claim): the named checks
// below (assertValidTemplateCreate, assertMayUpdateTemplate, assertMayChangeTemplateStatus) are the very rules `decide` applies.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import type { TemplateCommand } from './template-commands.js';
import type { CreateTemplateData } from './template-commands.js';
import {
  DEFAULT_MERGE_STRATEGY,
  UPDATABLE_FIELDS,
  type TemplateChanges,
  type TemplateContent,
  type TemplateStatus,
  type TemplateTag,
} from './template-content.js';
import type { TemplateCreatedData, TemplateEvent } from './template-events.js';
import { cloneJson, jsonEqual, validJsonObject, type JsonValue } from './template-json.js';
import { assertTransition, templateArchived } from './template-lifecycle.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';
import { templateNotFound } from './template-tenancy.js';
import {
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
} from './template-validation.js';

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
    throw new RuleViolation(
      'template.tags.duplicate',
      `tag ${tag.type}:${same.name} already exists with another value`,
      'conflict',
      `tags.${i}.name`,
    );
  });
  if (state.content.tags.length + added.length > TEMPLATE_TAGS_MAX) {
    throw new RuleViolation('template.tags.count', `a template has at most ${TEMPLATE_TAGS_MAX} tags`, 'invalid', 'tags');
  }
  return added;
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

function createdData(data: CreateTemplateData): TemplateCreatedData {
  const templateId = validTemplateId(data.templateId);
  const ownerTenantId = validOwnerTenantId(data.ownerTenantId);
  const parentTemplateId = validParentId(data.parentTemplateId, templateId);
  const content = createdContent(data);
  const isSystemTemplate = validBoolean(data.isSystemTemplate ?? false, 'isSystemTemplate');
  return { templateId, ownerTenantId, parentTemplateId, isSystemTemplate, status: 'draft', version: 1, ...content };
}

function assertLive(state: TemplateState): asserts state is LiveTemplateState {
  if (state.status === 'absent') throw templateNotFound();
}

function assertNotArchived(state: LiveTemplateState): void {
  if (state.status === 'archived') throw templateArchived();
}

/** Refuses bad input for a create (whatever the template's stream holds). */
export function assertValidTemplateCreate(data: CreateTemplateData): void {
  createdData(data);
}

/** Refuses an update of a missing or archived template, and bad input for one. */
export function assertMayUpdateTemplate(state: TemplateState, changes: TemplateChanges): asserts state is LiveTemplateState {
  updatedFields(state, changes);
}

/** Refuses a status change the lifecycle does not allow (the current status is allowed: a no-op). */
export function assertMayChangeTemplateStatus(state: TemplateState, to: TemplateStatus): asserts state is LiveTemplateState {
  assertLive(state);
  if (state.status !== to) assertTransition(state.status, to);
}

function updatedFields(state: TemplateState, changes: TemplateChanges): TemplateChanges {
  assertLive(state);
  assertNotArchived(state);
  return changedFields(changes, state.content);
}

function decide(command: TemplateCommand, state: TemplateState): TemplateEvent[] {
  if (command.type === 'CreateTemplate') {
    // A deleted template's id stays taken: its stream is history, and an undelete brings it back.
    if (state.status !== 'absent' || state.deleted)
      throw new RuleViolation('template.exists', 'this template already exists', 'conflict', 'templateId');
    return [{ type: 'TemplateCreated', data: createdData(command.data) }];
  }
  if (command.type === 'UndeleteTemplate') {
    if (state.status !== 'absent') return []; // not deleted (any more): a retry is harmless
    if (!state.deleted) throw templateNotFound();
    return [{ type: 'TemplateUndeleted', data: { status: state.deleted.status } }];
  }
  assertLive(state);
  const version = state.version + 1;
  switch (command.type) {
    case 'UpdateTemplate': {
      const changes = updatedFields(state, command.data);
      return Object.keys(changes).length === 0 ? [] : [{ type: 'TemplateUpdated', data: { changes, version } }];
    }
    case 'ChangeTemplateParent': {
      assertNotArchived(state);
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
      assertNotArchived(state);
      const restoredFrom = command.data.version;
      const content =
        Number.isInteger(restoredFrom) && Object.hasOwn(state.versions, restoredFrom) ? state.versions[restoredFrom] : undefined;
      if (content === undefined)
        throw new RuleViolation('template.version.unknown', `version ${String(restoredFrom)} does not exist`, 'not_found', 'version');
      if (jsonEqual(content, state.content)) return [];
      return [{ type: 'TemplateVersionRestored', data: { restoredFrom, version, content: cloneJson(content) } }];
    }
    case 'AddTemplateTags': {
      assertNotArchived(state);
      const tags = addTags(command.data, state);
      return tags.length === 0 ? [] : [{ type: 'TemplateTagsAdded', data: { tags, version } }];
    }
    case 'RemoveTemplateTags': {
      assertNotArchived(state);
      const keys = new Set(validTagKeys(command.data.tags).map(tagKey));
      const tags = state.content.tags.filter((tag) => keys.has(tagKey(tag))).map(({ name, type }) => ({ name, type }));
      return tags.length === 0 ? [] : [{ type: 'TemplateTagsRemoved', data: { tags, version } }];
    }
    case 'DeleteTemplate':
      // Any status may be deleted; the status is kept so that an undelete brings it back as it was.
      return [{ type: 'TemplateDeleted', data: { status: state.status } }];
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
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
    };
  }
  if (event.type === 'TemplateUndeleted') return state.status === 'absent' && state.deleted ? state.deleted : state;
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'TemplateDeleted':
      return { status: 'absent', deleted: state };
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
      return withContent(
        state,
        { ...state.content, tags: state.content.tags.filter((tag) => !removed.has(tagKey(tag))) },
        event.data.version,
      );
    }
    default: {
      // Every TemplateEvent is handled above (the compiler checks it here), so what reaches this line at run
      // time is not a template event of this version, and it is ignored on purpose, not by accident:
      // - TemplateFavorited, TemplateUnfavorited and TemplateUsageRecorded, written into template streams
      //   before favorites and usages had streams of their own, are not the template's state;
      // - an event type a newer version added (read after a rollback) cannot be interpreted here, and a fold
      //   that failed on it would make the template unreadable; the newer version reads it again.
      const notATemplateEvent: never = event;
      void notATemplateEvent;
      return state;
    }
  }
}

export const templateDecider: Decider<TemplateState, TemplateCommand, TemplateEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
