// How each batch event changes the state. Counts are kept per item status on every change, so that the
// progress of a 100,000-item batch is read without scanning its items.
import { planChunks } from './batch-chunks.js';
import type { BatchEvent } from './batch-events.js';
import {
  emptyCounts,
  itemAt,
  itemTableOf,
  itemsOf,
  withItems,
  type BatchItemCounts,
  type BatchItemState,
  type BatchItemStatus,
  type BatchState,
  type LiveBatchState,
} from './batch-state.js';

/** The state with some items replaced, the counts moved along. */
function updateItems(state: LiveBatchState, changes: ReadonlyMap<number, Partial<BatchItemState>>): LiveBatchState {
  const counts: BatchItemCounts = { ...state.counts };
  const updates = new Map<number, BatchItemState>();
  for (const [index, change] of changes) {
    const item = updates.get(index) ?? itemAt(state.items, index);
    if (item === undefined) continue;
    const next = { ...item, ...change };
    counts[item.status] -= 1;
    counts[next.status] += 1;
    updates.set(index, next);
  }
  return { ...state, items: withItems(state.items, updates), counts };
}

const toStatus = (indexes: readonly number[], status: BatchItemStatus, more: Partial<BatchItemState> = {}) =>
  new Map(indexes.map((index) => [index, { status, ...more }] as const));

function indexesWith(state: LiveBatchState, status: BatchItemStatus): number[] {
  const indexes: number[] = [];
  itemsOf(state.items).forEach((item, index) => {
    if (item.status === status) indexes.push(index);
  });
  return indexes;
}

export function evolveBatch(state: BatchState, event: BatchEvent): BatchState {
  if (event.type === 'BatchPlanRecorded') {
    const { batchId, tenantId, requestedBy, operation, items, options, total, undoOf, requestedAt } = event.data;
    const records = items.map((item): BatchItemState => ({
      templateId: item.templateId,
      status: 'pending',
      runAgainstRevision: item.expectedRevision,
      attempts: 0,
      reason: null,
      revisionBefore: null,
      revision: null,
      before: null,
      after: null,
    }));
    return {
      status: 'scheduled',
      batchId,
      tenantId,
      requestedBy,
      operation,
      options,
      total,
      undoOf,
      undoneBy: null,
      requestedAt,
      startedAt: null,
      finishedAt: null,
      items: itemTableOf(records),
      counts: { ...emptyCounts(), pending: records.length },
      round: 0,
      chunks: [],
      chunksEnqueued: 0,
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'BatchConflictsDetected':
    case 'BatchProgressRecorded':
    case 'BatchUndoPlanned':
      return state;
    case 'BatchConflictResolutionsApplied':
      return updateItems(
        state,
        new Map(event.data.items.filter((i) => i.run).map((i) => [i.index, { runAgainstRevision: i.runAgainstRevision }] as const)),
      );
    case 'BatchItemSkipped':
      return updateItems(state, new Map([[event.data.index, { status: 'skipped', reason: event.data.reason }]]));
    case 'BatchStarted':
      return {
        ...state,
        status: 'running',
        startedAt: event.data.startedAt,
        chunks: planChunks(indexesWith(state, 'pending'), state.options.chunkSize),
        chunksEnqueued: 0,
      };
    case 'BatchChunkEnqueued':
      return { ...updateItems(state, toStatus(event.data.indexes, 'queued')), chunksEnqueued: event.data.chunkIndex + 1 };
    case 'BatchItemSucceeded': {
      const { index, attempt, revisionBefore, revision, before, after } = event.data;
      return updateItems(
        state,
        new Map([[index, { status: 'succeeded', attempts: attempt, reason: null, revisionBefore, revision, before, after }]]),
      );
    }
    case 'BatchItemFailed': {
      const { index, attempt, reason, final } = event.data;
      return updateItems(state, new Map([[index, { status: final ? 'failed' : 'queued', attempts: attempt, reason }]]));
    }
    case 'BatchItemsWithdrawn':
      return updateItems(state, toStatus(event.data.indexes, 'cancelled', { reason: 'withdrawn from the queue by a cancel' }));
    case 'BatchCompleted':
      return { ...state, status: 'completed', finishedAt: event.data.finishedAt };
    case 'BatchPartiallyCompleted':
      return { ...state, status: 'partially_completed', finishedAt: event.data.finishedAt };
    case 'BatchFailed':
      return { ...state, status: 'failed', finishedAt: event.data.finishedAt };
    case 'BatchCancelRequested':
      return state.status === 'running' ? { ...state, status: 'cancelling' } : state;
    case 'BatchCancelled': {
      const cancelled = updateItems(state, toStatus(indexesWith(state, 'pending'), 'cancelled', { reason: 'the batch was cancelled' }));
      return { ...cancelled, status: 'cancelled', finishedAt: event.data.finishedAt };
    }
    case 'BatchRetryRequested': {
      const retried = updateItems(state, toStatus(event.data.indexes, 'pending', { attempts: 0, reason: null }));
      return {
        ...retried,
        status: 'running',
        finishedAt: null,
        round: event.data.round,
        chunks: planChunks(event.data.indexes, state.options.chunkSize),
        chunksEnqueued: 0,
      };
    }
    case 'BatchUndoRequested':
      return { ...state, undoneBy: event.data.undoBatchId };
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}
