// What conflict detection and impact analysis read: a snapshot of the templates a batch involves and of
// the tenant, taken by the command layer just before deciding (the domain does no I/O).
import { RuleViolation } from '../rule-violation.js';
import type { Money, TemplateStatus } from '../templates/template-content.js';

export type TemplateSnapshot = {
  templateId: string;
  /** Stream revision: moves with every event of the template's stream (content and status). */
  revision: number;
  /** Content version (RestoreTemplateVersion takes it). */
  version: number;
  status: TemplateStatus;
  ownerTenantId: string;
  isSystemTemplate: boolean;
  isPublic: boolean;
  name: string;
  parentTemplateId: string | null;
  /** Direct children with their status and owner: archiving or deleting this template orphans the active
   * ones (a public template's children may belong to other tenants, whose ids are never reported). */
  children: { templateId: string; status: TemplateStatus; ownerTenantId: string }[];
  /** Every descendant, any depth: their effective template follows this one's. */
  descendantIds: string[];
  /** Levels of the subtree counting the template itself (1 for a leaf), as validateParentChain takes it. */
  subtreeDepth: number;
  defaultMinParticipants: number | null;
  defaultMaxParticipants: number | null;
  defaultPrice: Money | null;
  /** Successful usages so far. */
  usageCount: number;
  /**
   * The content fields each revision changed, for the revisions after the oldest revision an item of the
   * batch was prepared against (status events: []; a parent change: ['parentTemplateId']; a restore:
   * every field). A merge needs an entry for every revision it skips over; a gap makes it impossible.
   */
  history: { revision: number; fields: string[] }[];
};

export type BatchSnapshot = {
  /** The tenant running the batch. */
  tenantId: string;
  /**
   * By lowercase templateId: every template an item targets, every new parent with its ancestors. A
   * template missing here does not exist for this batch (include other tenants' public and system
   * templates only where they may serve as parents).
   */
  templates: Readonly<Record<string, TemplateSnapshot>>;
  tenant: {
    /** Templates the tenant has now, and the most it may have. */
    templateCount: number;
    maxTemplatesPerTenant: number;
    /** Names held by the tenant's templates that are not archived (the name reservations). */
    names: { name: string; templateId: string }[];
    /** Batches the tenant started in the last minute, and the most it may start per minute. */
    batchesLastMinute: number;
    maxBatchesPerMinute: number;
  };
};

export function snapshotOf(snapshot: BatchSnapshot, templateId: string): TemplateSnapshot | undefined {
  const key = templateId.toLowerCase();
  return Object.hasOwn(snapshot.templates, key) ? snapshot.templates[key] : undefined;
}

/**
 * Names are unique per tenant compared trimmed, with inner whitespace collapsed and case ignored: the
 * same normalization as the template name reservations (src/commands/reservations.ts), which the domain
 * may not import.
 */
export const normalizeTemplateName = (name: string) => name.trim().replace(/\s+/g, ' ').toLowerCase();

/** The tenant's rate of batches ('batch.rate.limit', too_many): a whole-batch rule, not an item's. */
export function assertBatchRate(snapshot: BatchSnapshot): void {
  if (snapshot.tenant.batchesLastMinute >= snapshot.tenant.maxBatchesPerMinute) {
    throw new RuleViolation('batch.rate.limit', `at most ${snapshot.tenant.maxBatchesPerMinute} batches per minute`, 'too_many');
  }
}
