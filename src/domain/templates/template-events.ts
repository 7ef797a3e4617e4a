import type { TemplateChanges, TemplateContent, TemplateStatus, TemplateTag, TemplateTagKey } from './template-content.js';

export type TemplateCreatedData = TemplateContent & {
  templateId: string;
  ownerTenantId: string;
  parentTemplateId: string | null;
  isSystemTemplate: boolean;
  status: 'draft';
  version: 1;
};

export type TemplateEvent =
  | { type: 'TemplateCreated'; data: TemplateCreatedData }
  /** Only the fields that changed, with the version they make. */
  | { type: 'TemplateUpdated'; data: { changes: TemplateChanges; version: number } }
  | { type: 'TemplateParentChanged'; data: { parentTemplateId: string | null; previousParentTemplateId: string | null; version: number } }
  | { type: 'TemplateActivated'; data: { from: TemplateStatus } }
  | { type: 'TemplateArchived'; data: { from: TemplateStatus } }
  | { type: 'TemplateDeprecated'; data: { from: TemplateStatus } }
  | { type: 'TemplateUnarchived'; data: { from: TemplateStatus } }
  /** A new version whose content equals version `restoredFrom`; earlier versions stay as they were. */
  | { type: 'TemplateVersionRestored'; data: { restoredFrom: number; version: number; content: TemplateContent } }
  | { type: 'TemplateTagsAdded'; data: { tags: TemplateTag[]; version: number } }
  | { type: 'TemplateTagsRemoved'; data: { tags: TemplateTagKey[]; version: number } }
  /** Soft delete: the stream stays (it is history); the template reads as missing and its name is free. */
  | { type: 'TemplateDeleted'; data: { status: TemplateStatus } }
  /** Brings a deleted template back as it was, in the status it had (a restore, an undo of a delete). */
  | { type: 'TemplateUndeleted'; data: { status: TemplateStatus } };

export const TEMPLATE_EVENT_TYPES: readonly TemplateEvent['type'][] = [
  'TemplateCreated',
  'TemplateUpdated',
  'TemplateParentChanged',
  'TemplateActivated',
  'TemplateArchived',
  'TemplateDeprecated',
  'TemplateUnarchived',
  'TemplateVersionRestored',
  'TemplateTagsAdded',
  'TemplateTagsRemoved',
  'TemplateDeleted',
  'TemplateUndeleted',
];
