import type { BatchConflict, ConflictType, AppliedResolution } from './batch-conflicts.js';
import type { BatchItem, BatchOperation, BatchOptions, ConflictResolution } from './batch-plan.js';
import type { BatchItemCounts, TemplateMark } from './batch-state.js';

/** The counts every end event and progress event carries. */
export type BatchCounts = BatchItemCounts & { total: number };

export type ChangedSinceBatch = { templateId: string; revisionAfterBatch: number; currentRevision: number | null };

export type BatchEvent =
  /** The plan as validated: items in request order (index = position), options with defaults. */
  | {
      type: 'BatchPlanRecorded';
      data: {
        batchId: string;
        tenantId: string;
        requestedBy: string;
        operation: BatchOperation;
        items: BatchItem[];
        options: BatchOptions;
        total: number;
        undoOf: string | null;
        requestedAt: string;
      };
    }
  | { type: 'BatchConflictsDetected'; data: { conflicts: BatchConflict[] } }
  /** What the conflict resolution made of each conflicting item; items without conflicts run as planned. */
  | {
      type: 'BatchConflictResolutionsApplied';
      data: {
        resolution: ConflictResolution;
        items: { index: number; templateId: string; resolution: AppliedResolution; run: boolean; runAgainstRevision: number | null }[];
      };
    }
  | { type: 'BatchItemSkipped'; data: { index: number; templateId: string; conflictTypes: ConflictType[]; reason: string } }
  | { type: 'BatchStarted'; data: { startedAt: string } }
  | { type: 'BatchChunkEnqueued'; data: { round: number; chunkIndex: number; indexes: number[]; priority: number; enqueuedAt: string } }
  /** The item's template command was applied: the stream revision before (null when created) and after. */
  | {
      type: 'BatchItemSucceeded';
      data: {
        index: number;
        templateId: string;
        attempt: number;
        revisionBefore: number | null;
        revision: number;
        before: TemplateMark | null;
        after: TemplateMark | null;
      };
    }
  /** `final`: no attempt follows (not retryable, or the last of options.maxAttempts); else it stays queued. */
  | {
      type: 'BatchItemFailed';
      data: { index: number; templateId: string; reason: string; attempt: number; retryable: boolean; final: boolean };
    }
  /** While cancelling: queued items taken off the queue before they ran. */
  | { type: 'BatchItemsWithdrawn'; data: { indexes: number[] } }
  | { type: 'BatchProgressRecorded'; data: BatchCounts }
  | { type: 'BatchCompleted'; data: { finishedAt: string; counts: BatchCounts } }
  | { type: 'BatchPartiallyCompleted'; data: { finishedAt: string; counts: BatchCounts } }
  | { type: 'BatchFailed'; data: { finishedAt: string; counts: BatchCounts } }
  | { type: 'BatchCancelRequested'; data: { requestedBy: string; reason: string | null; requestedAt: string } }
  /** Every item still pending becomes cancelled; none is queued any more. */
  | { type: 'BatchCancelled'; data: { finishedAt: string; cancelled: number; counts: BatchCounts } }
  | { type: 'BatchRetryRequested'; data: { round: number; indexes: number[]; requestedBy: string; requestedAt: string } }
  | { type: 'BatchUndoRequested'; data: { undoBatchId: string; override: boolean; requestedBy: string; requestedAt: string } }
  /** One restore item per template the batch changed, newest change first; the undo batch runs them. */
  | { type: 'BatchUndoPlanned'; data: { undoBatchId: string; items: BatchItem[]; changedSinceBatch: ChangedSinceBatch[] } };

export const BATCH_EVENT_TYPES: readonly BatchEvent['type'][] = [
  'BatchPlanRecorded',
  'BatchConflictsDetected',
  'BatchConflictResolutionsApplied',
  'BatchItemSkipped',
  'BatchStarted',
  'BatchChunkEnqueued',
  'BatchItemSucceeded',
  'BatchItemFailed',
  'BatchItemsWithdrawn',
  'BatchProgressRecorded',
  'BatchCompleted',
  'BatchPartiallyCompleted',
  'BatchFailed',
  'BatchCancelRequested',
  'BatchCancelled',
  'BatchRetryRequested',
  'BatchUndoRequested',
  'BatchUndoPlanned',
];
