// Conflict detection and resolution, pure: a plan and a snapshot in, a decision per item out.
//
// Conflict types, and whether `override` may apply the item anyway (only where no invariant breaks):
// - version: the item was prepared against revision R and the template is at R' ≠ R. Overridable (the
//   item then runs against R', so a change after the snapshot still fails it). Mergeable when the item
//   is an update whose fields do not overlap the fields changed by every revision R+1..R' (the snapshot's
//   history must cover them all; a gap means "unknown", not mergeable).
// - dependency: archive/delete of a template with active (= not archived) children, listed unless the
//   same batch archives or deletes them too; a new parent that is missing, invisible, would make a cycle
//   or exceed depth 10 (validateParentChain). Only archiving over active children is overridable: the
//   children keep their link and inherit from the archived template. A delete would leave them
//   dangling; a cycle or depth breaks an invariant.
// - integrity: the template domain would refuse the item's command (participants, price, name length,
//   status transition, an archived template, an id already taken). Never overridable.
// - business_rule: a name already held by another template or by an earlier item of the batch; the
//   tenant's template limit. Never overridable (uniqueness and limits are rules, not preferences).
// - access: the template does not exist for this tenant, or is a system template. Never overridable.
//
// Resolution per item, all its conflicts together: abort → the whole batch is refused, nothing runs;
// skip → the item is skipped; override → runs if every conflict is overridable, else skipped; merge →
// runs if its only conflicts are mergeable version conflicts, else skipped. Items are checked in index
// order against the snapshot plus the effect of earlier items that run (parents created or moved, names
// taken, templates created), so two items cannot together make a cycle or a duplicate name.
import { RuleViolation } from '../rule-violation.js';
import type { TemplateContent } from '../templates/template-content.js';
import { templateDecider } from '../templates/template-decider.js';
import { validateParentChain } from '../templates/template-inheritance.js';
import type { TemplateCommand } from '../templates/template-commands.js';
import type { LiveTemplateState } from '../templates/template-state.js';
import { isVisibleTo } from '../templates/template-tenancy.js';
import type { BatchItem, BatchPlan, ConflictResolution } from './batch-plan.js';
import { normalizeTemplateName, snapshotOf, type BatchSnapshot, type TemplateSnapshot } from './batch-snapshot.js';

export const CONFLICT_TYPES = ['version', 'dependency', 'integrity', 'business_rule', 'access'] as const;
export type ConflictType = (typeof CONFLICT_TYPES)[number];
export type AppliedResolution = 'aborted' | 'skipped' | 'overridden' | 'merged';

export type BatchConflict = {
  index: number;
  templateId: string;
  type: ConflictType;
  /** The rule at stake: a template rule ('template.participants.order') or a batch one ('batch.conflict.version'). */
  rule: string;
  message: string;
  /** The item field at fault, when one is ('changes.defaultMinParticipants'), else null. */
  field: string | null;
  /** Templates involved: the orphaned children, the holder of a colliding name. */
  relatedTemplateIds: string[];
  /** Version conflicts: the fields changed since the item's revision; else []. */
  changedFields: string[];
  /** The template's revision in the snapshot (null for a template that does not exist). */
  currentRevision: number | null;
  overridable: boolean;
  mergeable: boolean;
  resolution: AppliedResolution;
};

export type ItemDecision = {
  index: number;
  templateId: string;
  run: boolean;
  /** The revision the worker must find (null: create, or not checked). */
  runAgainstRevision: number | null;
  /** 'none' when the item had no conflict. */
  resolution: AppliedResolution | 'none';
};

export type ConflictReport = {
  resolution: ConflictResolution;
  /** True when the strategy is abort and any conflict was found: the batch must be refused. */
  aborted: boolean;
  conflicts: BatchConflict[];
  decisions: ItemDecision[];
};

type Found = Omit<BatchConflict, 'index' | 'templateId' | 'resolution' | 'overridable' | 'mergeable'> & {
  overridable?: boolean;
  mergeable?: boolean;
};

const found = (type: ConflictType, rule: string, message: string, more: Partial<Found> = {}): Found => ({
  type,
  rule,
  message,
  field: null,
  relatedTemplateIds: [],
  changedFields: [],
  currentRevision: null,
  ...more,
});

function fromViolation(type: ConflictType, error: unknown, prefix: string, more: Partial<Found> = {}): Found {
  if (!(error instanceof RuleViolation)) throw error;
  return found(type, error.rule, error.message, { field: error.field === undefined ? null : `${prefix}${error.field}`, ...more });
}

/** The template as the template decider sees it, built from the snapshot's fields (the rest defaulted:
 * only the rules that read these fields can fire). */
function liveStateOf(template: TemplateSnapshot): LiveTemplateState {
  const content: TemplateContent = {
    name: template.name,
    description: null,
    categoryId: null,
    templateType: 'base',
    mergeStrategy: 'merge',
    selectiveKeys: [],
    defaultDuration: null,
    defaultMaxParticipants: template.defaultMaxParticipants,
    defaultMinParticipants: template.defaultMinParticipants,
    defaultPrice: template.defaultPrice,
    defaultSkillLevel: null,
    dynamicProperties: {},
    validationRules: {},
    uiConfiguration: {},
    tags: [],
    isPublic: template.isPublic,
  };
  return {
    status: template.status,
    templateId: template.templateId,
    ownerTenantId: template.ownerTenantId,
    isSystemTemplate: template.isSystemTemplate,
    parentTemplateId: template.parentTemplateId,
    content,
    version: template.version,
    versions: { [template.version]: content },
  };
}

/** The template decider's refusal, if any. A field the item gave is named by its path in the item
 * (`prefix` + field: 'changes.defaultMinParticipants'); one it did not ('status') is named as is. */
function integrity(
  command: TemplateCommand,
  state: LiveTemplateState | { status: 'absent' },
  prefix = '',
  given: readonly string[] = [],
): Found[] {
  try {
    templateDecider.decide(command, state);
    return [];
  } catch (error) {
    const field = error instanceof RuleViolation ? (error.field ?? '') : '';
    return [fromViolation('integrity', error, given.includes(field.split('.')[0] ?? '') ? prefix : '')];
  }
}

/** Fields changed by the revisions after `from` up to `to`, or null when the history has a gap. */
export function fieldsChangedBetween(history: TemplateSnapshot['history'], from: number, to: number): string[] | null {
  const fields = new Set<string>();
  for (let revision = from + 1; revision <= to; revision++) {
    const entry = history.find((h) => h.revision === revision);
    if (entry === undefined) return null;
    entry.fields.forEach((field) => fields.add(field));
  }
  return [...fields].sort();
}

function versionConflict(item: BatchItem, template: TemplateSnapshot): Found[] {
  if (item.expectedRevision === null || item.expectedRevision === template.revision) return [];
  const changed =
    item.expectedRevision < template.revision ? fieldsChangedBetween(template.history, item.expectedRevision, template.revision) : null;
  const disjoint = item.operation === 'update' && changed !== null && Object.keys(item.changes).every((field) => !changed.includes(field));
  return [
    found(
      'version',
      'batch.conflict.version',
      `prepared against revision ${item.expectedRevision}, the template is at ${template.revision}`,
      {
        changedFields: changed ?? [],
        currentRevision: template.revision,
        overridable: true,
        mergeable: disjoint,
      },
    ),
  ];
}

/** What earlier running items did, as later items must see it. */
type Overlay = { parents: Map<string, string | null>; names: Map<string, string>; created: number };

function parentConflicts(
  templateId: string,
  parentId: string | null,
  subtreeDepth: number,
  snapshot: BatchSnapshot,
  overlay: Overlay,
): Found[] {
  if (parentId === null) return [];
  const parent = snapshotOf(snapshot, parentId);
  const createdHere = overlay.parents.has(parentId) && parent === undefined;
  if (!createdHere && (parent === undefined || !isVisibleTo(parent, snapshot.tenantId))) {
    return [
      found('dependency', 'template.parent.not_found', `parent ${parentId} does not exist`, {
        field: 'parentTemplateId',
        relatedTemplateIds: [parentId],
      }),
    ];
  }
  const lookup = (id: string) => {
    if (overlay.parents.has(id)) return { parentTemplateId: overlay.parents.get(id) ?? null };
    const known = snapshotOf(snapshot, id);
    return known === undefined ? undefined : { parentTemplateId: known.parentTemplateId?.toLowerCase() ?? null };
  };
  try {
    validateParentChain({ templateId, newParentId: parentId, lookup, subtreeDepth });
    return [];
  } catch (error) {
    return [fromViolation('dependency', error, '', { relatedTemplateIds: [parentId] })];
  }
}

function nameConflict(templateId: string, name: unknown, overlay: Overlay): Found[] {
  if (typeof name !== 'string') return [];
  const holder = overlay.names.get(normalizeTemplateName(name));
  if (holder === undefined || holder === templateId) return [];
  return [
    found('business_rule', 'batch.name.collision', `the name "${name.trim()}" is already taken`, {
      field: 'name',
      relatedTemplateIds: [holder],
    }),
  ];
}

function accessConflict(template: TemplateSnapshot | undefined, tenantId: string): Found[] {
  if (template === undefined || (template.ownerTenantId !== tenantId && !template.isSystemTemplate)) {
    return [found('access', 'template.not_found', 'no such template')];
  }
  if (template.isSystemTemplate)
    return [found('access', 'template.system.read_only', 'system templates are read-only', { currentRevision: template.revision })];
  return [];
}

function itemConflicts(item: BatchItem, snapshot: BatchSnapshot, overlay: Overlay, removedInBatch: ReadonlySet<string>): Found[] {
  const template = snapshotOf(snapshot, item.templateId);
  if (item.operation === 'restore') return []; // checked when the undo was planned (planUndo)
  if (item.operation === 'create') {
    if (template !== undefined || overlay.parents.has(item.templateId))
      return [found('integrity', 'template.exists', 'this template id is already taken', { field: 'templateId' })];
    const data = { ...item.create, templateId: item.templateId, ownerTenantId: snapshot.tenantId } as unknown as Extract<
      TemplateCommand,
      { type: 'CreateTemplate' }
    >['data'];
    const conflicts = integrity({ type: 'CreateTemplate', data }, { status: 'absent' });
    const parentId = (item.create.parentTemplateId ?? null) as string | null;
    conflicts.push(
      ...parentConflicts(item.templateId, parentId, 1, snapshot, overlay),
      ...nameConflict(item.templateId, item.create.name, overlay),
    );
    if (snapshot.tenant.templateCount + overlay.created >= snapshot.tenant.maxTemplatesPerTenant) {
      conflicts.push(
        found('business_rule', 'batch.tenant.template_limit', `a tenant has at most ${snapshot.tenant.maxTemplatesPerTenant} templates`),
      );
    }
    return conflicts;
  }
  const access = accessConflict(template, snapshot.tenantId);
  if (access.length > 0 || template === undefined) return access;
  const conflicts = versionConflict(item, template);
  const state = liveStateOf(template);
  switch (item.operation) {
    case 'update':
      conflicts.push(
        ...integrity({ type: 'UpdateTemplate', data: item.changes as never }, state, 'changes.', Object.keys(item.changes)),
        ...nameConflict(item.templateId, item.changes.name, overlay),
      );
      break;
    case 'changeParent':
      conflicts.push(...integrity({ type: 'ChangeTemplateParent', data: { parentTemplateId: item.parentTemplateId } }, state));
      conflicts.push(...parentConflicts(item.templateId, item.parentTemplateId, template.subtreeDepth, snapshot, overlay));
      break;
    case 'archive':
    case 'delete': {
      if (item.operation === 'archive') conflicts.push(...integrity({ type: 'ArchiveTemplate', data: {} }, state));
      const orphaned = template.children.filter(
        (child) => child.status !== 'archived' && !removedInBatch.has(child.templateId.toLowerCase()),
      );
      // Children of other tenants (under a public template) count, but their ids stay theirs.
      const own = orphaned.filter((child) => child.ownerTenantId === snapshot.tenantId).map((child) => child.templateId);
      const others = orphaned.length - own.length;
      if (orphaned.length > 0) {
        conflicts.push(
          found(
            'dependency',
            'batch.dependency.active_children',
            `${orphaned.length} active child template(s) would be orphaned${others > 0 ? ` (${others} of other tenants)` : ''}`,
            {
              relatedTemplateIds: own,
              overridable: item.operation === 'archive',
            },
          ),
        );
      }
      break;
    }
  }
  return conflicts.map((conflict) => ({ ...conflict, currentRevision: template.revision }));
}

function decideItem(strategy: ConflictResolution, conflicts: readonly Found[]): { run: boolean; resolution: AppliedResolution | 'none' } {
  if (conflicts.length === 0) return { run: true, resolution: 'none' };
  switch (strategy) {
    case 'abort':
      return { run: false, resolution: 'aborted' };
    case 'skip':
      return { run: false, resolution: 'skipped' };
    case 'override':
      return conflicts.every((c) => c.overridable === true)
        ? { run: true, resolution: 'overridden' }
        : { run: false, resolution: 'skipped' };
    case 'merge':
      return conflicts.every((c) => c.type === 'version' && c.mergeable === true)
        ? { run: true, resolution: 'merged' }
        : { run: false, resolution: 'skipped' };
  }
}

function applyToOverlay(item: BatchItem, overlay: Overlay): void {
  if (item.operation === 'create') {
    overlay.parents.set(item.templateId, (item.create.parentTemplateId ?? null) as string | null);
    if (typeof item.create.name === 'string') overlay.names.set(normalizeTemplateName(item.create.name), item.templateId);
    overlay.created += 1;
  } else if (item.operation === 'changeParent') overlay.parents.set(item.templateId, item.parentTemplateId);
  else if (item.operation === 'update' && typeof item.changes.name === 'string')
    overlay.names.set(normalizeTemplateName(item.changes.name), item.templateId);
}

/** Every item's conflicts and what the plan's conflict resolution makes of them. */
export function detectConflicts(plan: Pick<BatchPlan, 'items' | 'options'>, snapshot: BatchSnapshot): ConflictReport {
  const strategy = plan.options.conflictResolution;
  const overlay: Overlay = {
    parents: new Map(),
    names: new Map(snapshot.tenant.names.map((n) => [normalizeTemplateName(n.name), n.templateId.toLowerCase()])),
    created: 0,
  };
  const removedInBatch = new Set(
    plan.items.filter((item) => item.operation === 'archive' || item.operation === 'delete').map((item) => item.templateId),
  );
  const conflicts: BatchConflict[] = [];
  const decisions = plan.items.map((item, index): ItemDecision => {
    const detected = itemConflicts(item, snapshot, overlay, removedInBatch);
    const { run, resolution } = decideItem(strategy, detected);
    for (const conflict of detected) {
      const applied: AppliedResolution = resolution === 'none' ? 'skipped' : resolution;
      conflicts.push({
        ...conflict,
        index,
        templateId: item.templateId,
        overridable: conflict.overridable ?? false,
        mergeable: conflict.mergeable ?? false,
        resolution: applied,
      });
    }
    if (run) applyToOverlay(item, overlay);
    const current = snapshotOf(snapshot, item.templateId);
    const moved = detected.some((c) => c.type === 'version') && current !== undefined;
    return { index, templateId: item.templateId, run, runAgainstRevision: moved ? current.revision : item.expectedRevision, resolution };
  });
  const aborted = decisions.some((d) => d.resolution === 'aborted');
  // Under abort one conflict stops everything: no item is planned to run, conflicting or not.
  return { resolution: strategy, aborted, conflicts, decisions: aborted ? decisions.map((d) => ({ ...d, run: false })) : decisions };
}
