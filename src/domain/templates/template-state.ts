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

/**
 * Absent: never created, or deleted. A deleted template keeps what it was in `deleted` (for an undelete);
 * everything else treats it exactly like a template that does not exist.
 */
export type TemplateState = { status: 'absent'; deleted?: LiveTemplateState } | LiveTemplateState;
