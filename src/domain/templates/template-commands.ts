import type { JsonObject } from '../json.js';
import type { Money, MergeStrategy, SkillLevel, TemplateChanges, TemplateTag, TemplateTagKey, TemplateType } from './template-content.js';

/** What CreateTemplate takes; omitted optional fields take the documented defaults. */
export type CreateTemplateData = {
  templateId: string;
  ownerTenantId: string;
  name: string;
  templateType: TemplateType;
  description?: string | null; // default null
  categoryId?: string | null; // default null
  parentTemplateId?: string | null; // default null; the chain is checked by validateParentChain first
  mergeStrategy?: MergeStrategy; // default 'merge'
  selectiveKeys?: string[]; // default []
  defaultDuration?: number | null; // minutes; default null (inherit)
  defaultMaxParticipants?: number | null;
  defaultMinParticipants?: number | null;
  defaultPrice?: Money | null;
  defaultSkillLevel?: SkillLevel | null;
  dynamicProperties?: JsonObject; // default {}
  validationRules?: JsonObject; // default {}
  uiConfiguration?: JsonObject; // default {}
  tags?: TemplateTag[]; // default []
  isPublic?: boolean; // default false
  isSystemTemplate?: boolean; // default false
};

type NoData = Record<string, never>;

export type TemplateCommand =
  | { type: 'CreateTemplate'; data: CreateTemplateData }
  | { type: 'UpdateTemplate'; data: TemplateChanges }
  | { type: 'ChangeTemplateParent'; data: { parentTemplateId: string | null } }
  | { type: 'ActivateTemplate'; data: NoData }
  | { type: 'ArchiveTemplate'; data: NoData }
  | { type: 'DeprecateTemplate'; data: NoData }
  | { type: 'UnarchiveTemplate'; data: NoData }
  | { type: 'RestoreTemplateVersion'; data: { version: number } }
  | { type: 'AddTemplateTags'; data: { tags: TemplateTag[] } }
  | { type: 'RemoveTemplateTags'; data: { tags: TemplateTagKey[] } }
  | { type: 'DeleteTemplate'; data: NoData }
  | { type: 'UndeleteTemplate'; data: NoData };
