// The versioned content of a course template: everything a template says about the courses made from
// it. Every change of content (UpdateTemplate, tags, parent, restore) makes a new version; a snapshot of
// the content of every version is kept in the state so that RestoreTemplateVersion can bring one back.
import type { JsonObject } from '../json.js';

export const TEMPLATE_TYPES = ['base', 'specialized', 'custom'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export const MERGE_STRATEGIES = ['override', 'merge', 'extend', 'selective'] as const;
export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];
export const DEFAULT_MERGE_STRATEGY: MergeStrategy = 'merge';

export const SKILL_LEVELS = ['beginner', 'intermediate', 'advanced', 'expert', 'all_levels'] as const;
export type SkillLevel = (typeof SKILL_LEVELS)[number];

export const TAG_TYPES = ['category', 'skill', 'topic', 'custom'] as const;
export type TagType = (typeof TAG_TYPES)[number];

export const TEMPLATE_STATUSES = ['draft', 'active', 'archived', 'deprecated'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

/** A price in minor units (cents) of an ISO-4217 currency. */
export type Money = { amountMinor: number; currency: string };

export type TemplateTag = { name: string; value: string; type: TagType };
/** What identifies a tag: its type and its name, compared case-insensitively. */
export type TemplateTagKey = { name: string; type: TagType };

/**
 * The versioned content. `null` scalar defaults mean "inherit from the parent template" (see
 * template-inheritance.ts). The parent link itself is not part of the content snapshot: it changes only
 * through ChangeTemplateParent, whose chain check needs the other templates (validateParentChain), so a
 * restore never re-attaches an old parent that might now make a cycle.
 */
export type TemplateContent = {
  name: string;
  description: string | null;
  categoryId: string | null;
  templateType: TemplateType;
  mergeStrategy: MergeStrategy;
  selectiveKeys: string[];
  defaultDuration: number | null;
  defaultMaxParticipants: number | null;
  defaultMinParticipants: number | null;
  defaultPrice: Money | null;
  defaultSkillLevel: SkillLevel | null;
  dynamicProperties: JsonObject;
  validationRules: JsonObject;
  uiConfiguration: JsonObject;
  tags: TemplateTag[];
  isPublic: boolean;
};

/** The content fields UpdateTemplate may change (tags have their own commands). */
export const UPDATABLE_FIELDS = [
  'name',
  'description',
  'categoryId',
  'templateType',
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
  'isPublic',
] as const satisfies readonly (keyof TemplateContent)[];
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];
export type TemplateChanges = Partial<Pick<TemplateContent, UpdatableField>>;
