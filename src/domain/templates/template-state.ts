import type { TemplateContent, TemplateStatus } from './template-content.js';

export type LiveTemplateState = {
  status: TemplateStatus;
  templateId: string;
  /** The tenant that created the template: the only one that may change it (see assertTenantMayChange). */
  ownerTenantId: string;
  /** System templates are read-only for every tenant. */
  isSystemTemplate: boolean;
  parentTemplateId: string | null;
  /** The current content, equal to `versions[version]`. */
  content: TemplateContent;
  version: number;
  /** Snapshot of the content of every version so far, by version number; never rewritten. */
  versions: Readonly<Record<number, TemplateContent>>;
};

export type TemplateState = { status: 'absent' } | LiveTemplateState;
