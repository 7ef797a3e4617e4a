// Tenant point-in-time restore, decided per aggregate: given its state at the target moment and its state
// now, the steps (existing commands of the aggregate) that bring it back, in an order every step's rules
// accept. Pure: the command layer folds the states and runs the steps; history is only ever appended to.
import type { CategoryState } from '../categories/category-decider.js';
import { statusPath } from '../templates/template-lifecycle.js';
import type { TemplateStatus } from '../templates/template-content.js';
import type { TemplateState } from '../templates/template-state.js';

export const RESTORABLE_TYPES = ['category', 'template'] as const;
export type RestorableType = (typeof RESTORABLE_TYPES)[number];

export type CategoryRestoreStep =
  { type: 'archive' } | { type: 'restore' } | { type: 'rename'; name: string } | { type: 'describe'; description: string };

export type TemplateRestoreStep =
  | { type: 'undelete' }
  | { type: 'delete' }
  | { type: 'status'; to: TemplateStatus }
  | { type: 'restoreVersion'; version: number }
  | { type: 'changeParent'; parentTemplateId: string | null };

/** What a restore does to one aggregate: `archive` (it did not exist yet at the target), `restore` (it
 * changed or was deleted since), `delete` (it had been deleted at the target), `unchanged`. */
export type RestoreAction = 'archive' | 'restore' | 'delete' | 'unchanged';
export const RESTORE_ACTIONS: readonly RestoreAction[] = ['archive', 'restore', 'delete', 'unchanged'];

export interface AggregatePlan<Step> {
  readonly action: RestoreAction;
  readonly steps: readonly Step[];
  /** The fields that differ between now and the target (for the dry run). */
  readonly changed: readonly string[];
}

const unchanged = { action: 'unchanged', steps: [], changed: [] } as const;

export function planCategoryRestore(atTarget: CategoryState, now: CategoryState): AggregatePlan<CategoryRestoreStep> {
  if (now.status === 'absent') return unchanged;
  if (atTarget.status === 'absent')
    return now.status === 'archived' ? unchanged : { action: 'archive', steps: [{ type: 'archive' }], changed: ['status'] };
  const changed: string[] = [];
  const edits: CategoryRestoreStep[] = [];
  if (atTarget.name !== now.name) {
    changed.push('name');
    edits.push({ type: 'rename', name: atTarget.name });
  }
  if (atTarget.description !== now.description) {
    changed.push('description');
    edits.push({ type: 'describe', description: atTarget.description });
  }
  if (atTarget.status !== now.status) changed.push('status');
  if (changed.length === 0) return unchanged;
  // An archived category cannot change: restore it first, archive it again last if it was archived then.
  const steps: CategoryRestoreStep[] = [];
  if (now.status === 'archived') steps.push({ type: 'restore' });
  steps.push(...edits);
  if (atTarget.status === 'archived' && (now.status !== 'archived' || edits.length > 0)) steps.push({ type: 'archive' });
  return { action: 'restore', steps, changed };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function planTemplateRestore(atTarget: TemplateState, now: TemplateState): AggregatePlan<TemplateRestoreStep> {
  if (now.status === 'absent') {
    // Deleted since the target: it comes back as it was when deleted, then on to its state at the target.
    if (!now.deleted || atTarget.status === 'absent') return unchanged;
    const rest = planTemplateRestore(atTarget, now.deleted);
    return { action: 'restore', steps: [{ type: 'undelete' }, ...rest.steps], changed: ['deleted', ...rest.changed] };
  }
  if (atTarget.status === 'absent' && atTarget.deleted) return { action: 'delete', steps: [{ type: 'delete' }], changed: ['deleted'] };
  if (atTarget.status === 'absent')
    return now.status === 'archived'
      ? unchanged
      : { action: 'archive', steps: statusPath(now.status, 'archived').map((to) => ({ type: 'status', to })), changed: ['status'] };
  const changed: string[] = [];
  const edits: TemplateRestoreStep[] = [];
  // The version restore carries the whole content of the target's version: the restore event holds the state.
  if (!sameJson(atTarget.content, now.content)) {
    changed.push('content');
    edits.push({ type: 'restoreVersion', version: atTarget.version });
  }
  if (atTarget.parentTemplateId !== now.parentTemplateId) {
    changed.push('parentTemplateId');
    edits.push({ type: 'changeParent', parentTemplateId: atTarget.parentTemplateId });
  }
  if (atTarget.status !== now.status) changed.push('status');
  if (changed.length === 0) return unchanged;
  // Archived templates cannot change: back to draft first, then the edits, then on to the target status.
  const steps: TemplateRestoreStep[] = [];
  let status = now.status;
  if (status === 'archived' && edits.length > 0) {
    steps.push({ type: 'status', to: 'draft' });
    status = 'draft';
  }
  steps.push(...edits);
  steps.push(...statusPath(status, atTarget.status).map((to) => ({ type: 'status' as const, to })));
  return { action: 'restore', steps, changed };
}

/** A stable key per step: with the restore's id it makes the step's command id, so a retry repeats nothing. */
export function stepKey(step: CategoryRestoreStep | TemplateRestoreStep): string {
  switch (step.type) {
    case 'status':
      return `status:${step.to}`;
    case 'restoreVersion':
      return `version:${step.version}`;
    case 'changeParent':
      return `parent:${step.parentTemplateId ?? 'none'}`;
    default:
      return step.type;
  }
}
