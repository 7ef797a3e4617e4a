// Refusals that carry a list the client needs to act on.
import { RuleViolation } from '../rule-violation.js';
import type { BatchConflict } from './batch-conflicts.js';
import type { ChangedSinceBatch } from './batch-events.js';

/** conflictResolution 'abort' and at least one conflict: nothing is recorded, every conflict is listed. */
export class BatchConflictViolation extends RuleViolation {
  constructor(readonly conflicts: readonly BatchConflict[]) {
    super(
      'batch.conflicts.abort',
      `${conflicts.length} conflict(s) found and conflictResolution is abort; nothing was changed`,
      'conflict',
      'items',
    );
  }
}

/** An undo without override while templates the batch changed have changed again since. */
export class BatchUndoViolation extends RuleViolation {
  constructor(readonly changedSinceBatch: readonly ChangedSinceBatch[]) {
    super(
      'batch.undo.changed_since',
      `${changedSinceBatch.length} template(s) changed again after the batch; undo with override to restore them anyway`,
      'conflict',
    );
  }
}
