// The BatchSnapshot a StartBatch decides on. What each template *is* (revision, version, status, owner,
// name, parent, the fields each later revision changed) comes from its stream through the event store
// port, never from a read model. Relations no single stream holds (children, descendants, subtree depth,
// usage counts, the tenant's names and counts, recent batches) come from the read models behind
// BatchSnapshotReads, as the template commands already do for the tenant count and subtree depth, once
// those read models have caught up with the store's head (reads.catchUp), so projection lag cannot hide
// a child or a name from conflict detection; the worker's template command re-checks the parent chain
// on the streams when it runs.
import type { BatchItem, BatchSnapshot, TemplateSnapshot } from '../../domain/batches/index.js';
import { normalizeTemplateName } from '../../domain/batches/index.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import { templateDecider, templateStreamId, UPDATABLE_FIELDS, type TemplateStatus } from '../../domain/templates/index.js';
import { loadAggregate, type CommandDeps } from '../handle-command.js';

export interface BatchSnapshotReads {
  /** Resolves once the read models below hold every event the store holds now (bounded; throws when
   * they cannot catch up in time): conflicts are never decided on rows that trail the store. */
  catchUp(): Promise<void>;
  /** Direct children of each template (any tenant), with their status and owner. */
  children(templateIds: readonly string[]): Promise<Map<string, { templateId: string; status: TemplateStatus; ownerTenantId: string }[]>>;
  /** Every descendant of each template, any depth. */
  descendants(templateIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Levels of the subtree counting the template itself (1 for a leaf). */
  subtreeDepth(templateId: string): Promise<number>;
  /** Successful usages per template. */
  usageCounts(templateIds: readonly string[]): Promise<Map<string, number>>;
  templateCount(tenantId: string): Promise<number>;
  /** The tenant's templates that are not archived holding one of these normalized names. */
  namesInUse(tenantId: string, normalizedNames: readonly string[]): Promise<{ name: string; templateId: string }[]>;
  /** Batches the tenant started at or after `since`. */
  batchesSince(tenantId: string, since: Date): Promise<number>;
}

export interface BatchSnapshotLimits {
  readonly maxTemplatesPerTenant: number;
  readonly maxBatchesPerMinute: number;
}

/** The content fields an event of a template stream changed (status events none; unknown events all). */
export function fieldsChangedBy(event: Pick<RecordedEvent, 'type' | 'data'>): string[] {
  switch (event.type) {
    case 'TemplateUpdated':
      return Object.keys((event.data.changes ?? {}) as object);
    case 'TemplateParentChanged':
      return ['parentTemplateId'];
    case 'TemplateActivated':
    case 'TemplateArchived':
    case 'TemplateDeprecated':
    case 'TemplateUnarchived':
    case 'TemplateDeleted':
    case 'TemplateUndeleted':
    case 'TemplateFavorited':
    case 'TemplateUnfavorited':
    case 'TemplateUsageRecorded':
      return [];
    case 'TemplateTagsAdded':
    case 'TemplateTagsRemoved':
      return ['tags'];
    default:
      return [...UPDATABLE_FIELDS, 'parentTemplateId', 'tags'];
  }
}

/** The parent a create or change-parent item names, if any. */
function newParentOf(item: BatchItem): string | null {
  if (item.operation === 'create')
    return typeof item.create.parentTemplateId === 'string' ? item.create.parentTemplateId.toLowerCase() : null;
  if (item.operation === 'changeParent') return item.parentTemplateId;
  return null;
}

/** Runs `fn` over `values` with at most `limit` at a time. */
async function eachLimited<T>(values: readonly T[], limit: number, fn: (value: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, values.length) }, async () => {
    while (next < values.length) await fn(values[next++]!);
  });
  await Promise.all(lanes);
}

type StreamFacts = Omit<TemplateSnapshot, 'children' | 'descendantIds' | 'subtreeDepth' | 'usageCount'>;

async function readTemplate(
  deps: Pick<CommandDeps, 'eventStore' | 'upcasters'>,
  templateId: string,
  historyFrom: number | null,
): Promise<StreamFacts | undefined> {
  const loaded = await loadAggregate(deps, templateDecider, templateStreamId(templateId), { tenantId: '', access: () => true });
  const state = loaded.state;
  if (state.status === 'absent' || loaded.revision === undefined) return undefined;
  const history =
    historyFrom === null
      ? []
      : loaded.events
          .filter((e) => Number(e.revision) > historyFrom)
          .map((e) => ({
            revision: Number(e.revision),
            fields: fieldsChangedBy(e),
          }));
  return {
    templateId: state.templateId.toLowerCase(),
    revision: Number(loaded.revision),
    version: state.version,
    status: state.status,
    ownerTenantId: state.ownerTenantId,
    isSystemTemplate: state.isSystemTemplate,
    isPublic: state.content.isPublic,
    name: state.content.name,
    parentTemplateId: state.parentTemplateId,
    defaultMinParticipants: state.content.defaultMinParticipants,
    defaultMaxParticipants: state.content.defaultMaxParticipants,
    defaultPrice: state.content.defaultPrice,
    history,
  };
}

/**
 * The snapshot for `items` of `tenantId`: every target, every new parent and its ancestors (up to 11
 * levels, enough for validateParentChain to see a chain that is too deep), the tenant's figures.
 */
export async function buildBatchSnapshot(
  deps: Pick<CommandDeps, 'eventStore' | 'upcasters' | 'clock'>,
  reads: BatchSnapshotReads,
  limits: BatchSnapshotLimits,
  tenantId: string,
  items: readonly BatchItem[],
): Promise<BatchSnapshot> {
  // First, so that every relation read below includes what was committed before the snapshot began.
  await reads.catchUp();
  const facts = new Map<string, StreamFacts>();
  const historyFrom = new Map<string, number>();
  for (const item of items) {
    if (item.operation === 'create' || item.expectedRevision === null) continue;
    historyFrom.set(item.templateId, Math.min(historyFrom.get(item.templateId) ?? Number.MAX_SAFE_INTEGER, item.expectedRevision));
  }
  const targets = [...new Set(items.filter((item) => item.operation !== 'create').map((item) => item.templateId))];
  // Ids an item creates must stay absent from the snapshot (an existing one is a conflict): read them too.
  // One query says which of them exist at all (usually none); only those are read.
  const createdIds = items.filter((item) => item.operation === 'create').map((item) => item.templateId);
  const existing = await deps.eventStore.existingStreams(createdIds.map(templateStreamId));
  const created = createdIds.filter((id) => existing.has(templateStreamId(id)));
  const read = async (id: string) => {
    if (facts.has(id)) return;
    const found = await readTemplate(deps, id, historyFrom.get(id) ?? null);
    if (found) facts.set(id, found);
  };
  await eachLimited([...targets, ...created], 16, read);
  // New parents and their ancestors, level by level.
  let frontier = [...new Set(items.map(newParentOf).filter((id): id is string => id !== null))];
  for (let level = 0; level < 12 && frontier.length > 0; level++) {
    await eachLimited(frontier, 16, read);
    frontier = [
      ...new Set(
        frontier
          .map((id) => facts.get(id)?.parentTemplateId?.toLowerCase() ?? null)
          .filter((id): id is string => id !== null && !facts.has(id)),
      ),
    ];
  }
  const existingTargets = targets.filter((id) => facts.has(id));
  const needsChildren = [
    ...new Set(items.filter((i) => i.operation === 'archive' || i.operation === 'delete').map((i) => i.templateId)),
  ].filter((id) => facts.has(id));
  const [children, descendants, usage] = await Promise.all([
    reads.children(needsChildren),
    reads.descendants(existingTargets),
    reads.usageCounts(existingTargets),
  ]);
  const depthOf = new Map<string, number>();
  await eachLimited(
    items.filter((i) => i.operation === 'changeParent' && facts.has(i.templateId)).map((i) => i.templateId),
    8,
    async (id) => void depthOf.set(id, await reads.subtreeDepth(id)),
  );
  const templates: Record<string, TemplateSnapshot> = {};
  for (const [id, fact] of facts) {
    templates[id] = {
      ...fact,
      children: children.get(id) ?? [],
      descendantIds: descendants.get(id) ?? [],
      subtreeDepth: depthOf.get(id) ?? 1,
      usageCount: usage.get(id) ?? 0,
    };
  }
  const names = new Set<string>();
  for (const item of items) {
    const name = item.operation === 'create' ? item.create.name : item.operation === 'update' ? item.changes.name : undefined;
    if (typeof name === 'string') names.add(normalizeTemplateName(name));
  }
  const now = deps.clock();
  const [templateCount, namesInUse, batchesLastMinute] = await Promise.all([
    reads.templateCount(tenantId),
    names.size === 0 ? Promise.resolve([]) : reads.namesInUse(tenantId, [...names]),
    reads.batchesSince(tenantId, new Date(now.getTime() - 60_000)),
  ]);
  return {
    tenantId,
    templates,
    tenant: {
      templateCount,
      maxTemplatesPerTenant: limits.maxTemplatesPerTenant,
      names: namesInUse,
      batchesLastMinute,
      maxBatchesPerMinute: limits.maxBatchesPerMinute,
    },
  };
}
