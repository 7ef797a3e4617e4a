// Shared builders for the batch domain tests: ids, template snapshots, and batches folded from events.
import {
  batchDecider,
  type BatchCommand,
  type BatchEvent,
  type BatchPlanInput,
  type BatchSnapshot,
  type TemplateSnapshot,
} from '../../../src/domain/batches/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

export const TENANT = 'acme';
export const USER = 'user-1';
export const NOW = '2026-11-26T12:00:00.000Z';
export const LATER = '2026-11-26T12:01:00.000Z';

/** A deterministic lowercase UUID per number. */
export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
export const BATCH = uuid(0xba7c);
export const UNDO_BATCH = uuid(0xd0);

export function template(n: number, more: Partial<TemplateSnapshot> = {}): TemplateSnapshot {
  return {
    templateId: uuid(n),
    revision: 3,
    version: 2,
    status: 'active',
    ownerTenantId: TENANT,
    isSystemTemplate: false,
    isPublic: false,
    name: `Template ${n}`,
    parentTemplateId: null,
    children: [],
    descendantIds: [],
    subtreeDepth: 1,
    defaultMinParticipants: 2,
    defaultMaxParticipants: 10,
    defaultPrice: null,
    usageCount: 0,
    history: [],
    ...more,
  };
}

export function snapshot(templates: TemplateSnapshot[], tenant: Partial<BatchSnapshot['tenant']> = {}): BatchSnapshot {
  return {
    tenantId: TENANT,
    templates: Object.fromEntries(templates.map((t) => [t.templateId, t])),
    tenant: {
      templateCount: templates.length,
      maxTemplatesPerTenant: 1000,
      names: templates.filter((t) => t.status !== 'archived').map((t) => ({ name: t.name, templateId: t.templateId })),
      batchesLastMinute: 0,
      maxBatchesPerMinute: 10,
      ...tenant,
    },
  };
}

export const startBatch = (
  request: BatchPlanInput,
  snap: BatchSnapshot,
  more: { maxItems?: number; now?: string; batchId?: string } = {},
): BatchCommand => ({
  type: 'StartBatch',
  data: {
    batchId: more.batchId ?? BATCH,
    tenantId: TENANT,
    requestedBy: USER,
    request,
    maxItems: more.maxItems ?? 100,
    snapshot: snap,
    now: more.now ?? NOW,
  },
});

/** An update of `count` templates (1..count) that all apply cleanly, chunks of `chunkSize`. */
export function cleanUpdate(count: number, options: Record<string, unknown> = {}) {
  const templates = Array.from({ length: count }, (_, i) => template(i + 1));
  const request: BatchPlanInput = {
    operation: 'update',
    items: templates.map((t) => ({ templateId: t.templateId, expectedRevision: t.revision, changes: { description: 'new' } })),
    options,
  };
  return { templates, request, command: startBatch(request, snapshot(templates)) };
}

export const { given, stateAfter } = deciderSpec(batchDecider);
export { refusal };

/** Decides `command` on the state of `events` and returns those events followed by the new ones. */
export function run(events: readonly BatchEvent[], command: BatchCommand): BatchEvent[] {
  return [...events, ...batchDecider.decide(command, stateAfter(events))];
}

export const success = (index: number, revision = 4, attempt = 1) => ({
  index,
  outcome: 'succeeded' as const,
  attempt,
  revisionBefore: revision - 1,
  revision,
  before: { version: 2, status: 'active' as const, parentTemplateId: null },
  after: { version: 3, status: 'active' as const, parentTemplateId: null },
});
export const failure = (index: number, attempt = 1, retryable = false, reason = 'boom') => ({
  index,
  outcome: 'failed' as const,
  attempt,
  reason,
  retryable,
});
