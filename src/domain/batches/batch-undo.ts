// Undo, pure: which templates a finished batch changed, what each goes back to, and which template
// commands bring it there. Undo appends new events (restores); history is never rewritten.
import { RuleViolation, resourceState } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { BATCH_CATEGORY } from './batch-streams.js';
import type { TemplateStatus } from '../templates/template-content.js';
import type { TemplateCommand } from '../templates/template-commands.js';
import { STATUS_COMMAND, statusPath } from '../templates/template-lifecycle.js';
import type { TemplateState } from '../templates/template-state.js';
import type { ChangedSinceBatch } from './batch-events.js';
import type { BatchItem, RestoreTarget } from './batch-plan.js';
import { FINISHED_BATCH_STATUSES, itemsOf, type BatchState, type LiveBatchState } from './batch-state.js';

/**
 * Refuses: no such batch ('batch.not_found'); an undo batch ('batch.undo.of_undo': undo it by running
 * the original again); a batch still running or scheduled ('batch.undo.unfinished'); one already undone
 * ('batch.undo.already_requested'); one that changed nothing ('batch.undo.nothing_to_undo').
 */
export function assertUndoable(state: BatchState): asserts state is LiveBatchState {
  if (state.status === 'absent') throw notFoundOf(BATCH_CATEGORY);
  if (state.undoOf !== null) throw new RuleViolation('batch.undo.of_undo', 'an undo batch cannot be undone', 'conflict');
  if (!FINISHED_BATCH_STATUSES.includes(state.status))
    throw new RuleViolation(
      'batch.undo.unfinished',
      `a ${state.status} batch cannot be undone; wait until it ends or cancel it`,
      'conflict',
      resourceState('status'),
    );
  if (state.undoneBy !== null)
    throw new RuleViolation('batch.undo.already_requested', `this batch is already undone by batch ${state.undoneBy}`, 'conflict');
  if (state.counts.succeeded === 0) throw new RuleViolation('batch.undo.nothing_to_undo', 'no item of this batch was applied', 'conflict');
}

/**
 * The restore items of an undo (one per template the batch changed, latest item first, so that the
 * inverse runs in reverse order) and the templates changed again since the batch: those whose current
 * revision differs from the revision the batch left them at. With `override`, their restore items expect
 * no revision; otherwise each restore item expects the revision the batch left.
 */
export function planUndo(
  state: LiveBatchState,
  currentRevisions: Readonly<Record<string, number>>,
  override: boolean,
): { items: BatchItem[]; changedSinceBatch: ChangedSinceBatch[] } {
  const items: BatchItem[] = [];
  const changedSinceBatch: ChangedSinceBatch[] = [];
  for (const item of itemsOf(state.items).reverse()) {
    if (item.status !== 'succeeded' || item.revision === null) continue;
    const currentRevision = Object.hasOwn(currentRevisions, item.templateId) ? (currentRevisions[item.templateId] ?? null) : null;
    const changed = currentRevision !== item.revision;
    if (changed) changedSinceBatch.push({ templateId: item.templateId, revisionAfterBatch: item.revision, currentRevision });
    const restore: RestoreTarget =
      item.before === null
        ? { exists: false, version: null, status: null, parentTemplateId: null }
        : { exists: true, version: item.before.version, status: item.before.status, parentTemplateId: item.before.parentTemplateId };
    items.push({
      operation: 'restore',
      templateId: item.templateId,
      expectedRevision: override && changed ? null : item.revision,
      restore,
    });
  }
  return { items, changedSinceBatch };
}

/**
 * The template commands that bring `current` back to `target`, in the order to run them: out of archived
 * first (an archived template cannot change), then the content version (RestoreTemplateVersion), then the
 * parent (restores never re-attach parents: the command layer checks the chain), then the status. A
 * target that did not exist (the batch created it) is archived: templates are never erased. A deleted
 * current template (by the batch or since) is undeleted first; one that never existed gives [].
 */
export function restoreCommands(current: TemplateState, target: RestoreTarget): TemplateCommand[] {
  if (current.status === 'absent') {
    // Deleted since: undelete it first (it comes back as it was), then restore from there.
    if (!current.deleted || !target.exists) return [];
    return [{ type: 'UndeleteTemplate', data: {} }, ...restoreCommands(current.deleted, target)];
  }
  if (!target.exists) return current.status === 'archived' ? [] : [{ type: 'ArchiveTemplate', data: {} }];
  const commands: TemplateCommand[] = [];
  let status: TemplateStatus = current.status;
  const needsChange =
    (target.version !== null && target.version !== current.version) || target.parentTemplateId !== current.parentTemplateId;
  if (status === 'archived' && (needsChange || target.status !== 'archived')) {
    commands.push({ type: 'UnarchiveTemplate', data: {} });
    status = 'draft';
  }
  if (target.version !== null && target.version !== current.version)
    commands.push({ type: 'RestoreTemplateVersion', data: { version: target.version } });
  if (target.parentTemplateId !== current.parentTemplateId)
    commands.push({ type: 'ChangeTemplateParent', data: { parentTemplateId: target.parentTemplateId } });
  if (target.status !== null && target.status !== status) {
    for (const step of statusPath(status, target.status)) commands.push({ type: STATUS_COMMAND[step], data: {} });
  }
  return commands;
}
