// The Batch aggregate: a plan of template commands whose events drive a process manager. The decider
// records the plan, conflicts and the outcome of every item, and derives the end state; it never runs an
// item (the workers do, each as a template command with commandId `batchId:itemIndex`).
//
// Rules decided here:
// - StartBatch validates the plan (batch-plan.ts), the tenant's batch rate, then detects conflicts
//   (batch-conflicts.ts). abort + any conflict → BatchConflictViolation, nothing recorded. A dry run
//   decides to record nothing ([]): the command layer answers it with analyzeBatch instead.
// - Without scheduledAt a batch starts at once; with it, BeginScheduledBatch starts it when due.
// - Outcome reports for an item that already has an outcome are ignored (a redelivered job), so workers
//   can report at least once; a report for an item not yet enqueued is refused.
// - A retryable failure below options.maxAttempts keeps the item queued (the job retries it); otherwise
//   the failure is final.
// - The end state, once no item is pending or queued: completed when every item succeeded; failed when
//   none did; partially_completed otherwise (skipped items count as not applied).
// - Cancel: scheduled → cancelled at once; running → cancelling; the batch is cancelled (every pending
//   item cancelled) as soon as no item is queued: in-flight items report their outcome, queued ones the
//   process manager took off the queue are withdrawn (WithdrawQueuedItems).
// - Retry takes failed items of a failed or partially completed batch back to pending, in a new round of
//   chunks; the same commandId per item means an item that did get applied is never applied twice.
import type { Decider } from '../decider.js';
import { TENANT_ID_PATTERN } from '../principal.js';
import { RuleViolation, resourceState } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { BATCH_CATEGORY } from './batch-streams.js';
import { isUuid } from '../uuid.js';
import type { BatchCommand, ItemOutcomeReport } from './batch-commands.js';
import { detectConflicts, type BatchConflict } from './batch-conflicts.js';
import type { BatchCounts, BatchEvent } from './batch-events.js';
import { evolveBatch } from './batch-evolve.js';
import { validateBatchOptions, validateBatchPlan, type BatchItem, type BatchOperation, type BatchOptions } from './batch-plan.js';
import { assertBatchRate } from './batch-snapshot.js';
import { FINISHED_BATCH_STATUSES, itemAt, type BatchState, type LiveBatchState } from './batch-state.js';
import { assertUndoable, planUndo } from './batch-undo.js';
import { BatchConflictViolation, BatchUndoViolation } from './batch-violations.js';

const notFound = () => notFoundOf(BATCH_CATEGORY);

/** A failure reason is cut to this many characters: a worker's error must never make its report refused. */
export const BATCH_REASON_MAX = 2000;

function validIds(data: { batchId: string; tenantId: string; requestedBy: string }): void {
  if (typeof data.batchId !== 'string' || !isUuid(data.batchId))
    throw new RuleViolation('batch.id.format', 'batchId must be a UUID', 'invalid', 'batchId');
  if (typeof data.tenantId !== 'string' || !TENANT_ID_PATTERN.test(data.tenantId))
    throw new RuleViolation('batch.tenant.format', 'tenantId must be a tenant id', 'invalid', 'tenantId');
  if (typeof data.requestedBy !== 'string' || data.requestedBy.length < 1 || data.requestedBy.length > 200) {
    throw new RuleViolation('batch.requested_by.format', 'requestedBy must be 1–200 characters', 'invalid', 'requestedBy');
  }
}

const fold = (state: BatchState, events: readonly BatchEvent[]) => events.reduce(evolveBatch, state);
const countsOf = (state: LiveBatchState): BatchCounts => ({ ...state.counts, total: state.total });

/** The batch cancelled: its counts are the final ones, every pending item cancelled. */
const cancelled = (state: LiveBatchState, now: string): BatchEvent => ({
  type: 'BatchCancelled',
  data: {
    finishedAt: now,
    cancelled: state.counts.pending,
    counts: { ...countsOf(state), pending: 0, cancelled: state.counts.cancelled + state.counts.pending },
  },
});

/** The end event once nothing is pending or queued: see the rules at the top. */
function endEvents(state: BatchState, now: string): BatchEvent[] {
  if (state.status === 'absent') return [];
  const { pending, queued, succeeded } = state.counts;
  if (state.status === 'cancelling' && queued === 0) return [cancelled(state, now)];
  if (state.status !== 'running' || pending + queued > 0) return [];
  const data = { finishedAt: now, counts: countsOf(state) };
  if (succeeded === state.total) return [{ type: 'BatchCompleted', data }];
  return [succeeded === 0 ? { type: 'BatchFailed', data } : { type: 'BatchPartiallyCompleted', data }];
}

/** Plan recorded, conflicts and their resolution, skips, and the start when not scheduled. */
function planEvents(
  header: { batchId: string; tenantId: string; requestedBy: string; operation: BatchOperation; undoOf: string | null; now: string },
  items: BatchItem[],
  options: BatchOptions,
  report: ReturnType<typeof detectConflicts> | null,
): BatchEvent[] {
  const { now, ...rest } = header;
  const events: BatchEvent[] = [{ type: 'BatchPlanRecorded', data: { ...rest, items, options, total: items.length, requestedAt: now } }];
  if (report !== null && report.conflicts.length > 0) {
    events.push({ type: 'BatchConflictsDetected', data: { conflicts: report.conflicts } });
    const resolved = report.decisions.filter((d) => d.resolution !== 'none');
    events.push({
      type: 'BatchConflictResolutionsApplied',
      data: {
        resolution: report.resolution,
        items: resolved.map((d) => ({
          index: d.index,
          templateId: d.templateId,
          resolution: d.resolution as Exclude<typeof d.resolution, 'none'>,
          run: d.run,
          runAgainstRevision: d.runAgainstRevision,
        })),
      },
    });
    const byIndex = new Map<number, BatchConflict[]>();
    for (const conflict of report.conflicts) byIndex.set(conflict.index, [...(byIndex.get(conflict.index) ?? []), conflict]);
    for (const decision of resolved.filter((d) => !d.run)) {
      const mine = byIndex.get(decision.index) ?? [];
      events.push({
        type: 'BatchItemSkipped',
        data: {
          index: decision.index,
          templateId: decision.templateId,
          conflictTypes: [...new Set(mine.map((c) => c.type))],
          reason: mine.map((c) => c.message).join('; '),
        },
      });
    }
  }
  if (options.scheduledAt === null) events.push(...startEvents(events, now));
  return events;
}

function startEvents(earlier: readonly BatchEvent[], now: string): BatchEvent[] {
  const started: BatchEvent = { type: 'BatchStarted', data: { startedAt: now } };
  return [started, ...endEvents(fold({ status: 'absent' }, [...earlier, started]), now)];
}

function live(state: BatchState): LiveBatchState {
  if (state.status === 'absent') throw notFound();
  return state;
}

const notRunning = (state: LiveBatchState) =>
  new RuleViolation('batch.not_running', `the batch is ${state.status}`, 'conflict', resourceState('status'));

function validReport(report: ItemOutcomeReport, i: number, state: LiveBatchState): void {
  const field = (name: string) => `outcomes.${i}.${name}`;
  if (!Number.isInteger(report.index) || report.index < 0 || report.index >= state.total) {
    throw new RuleViolation('batch.item.unknown', `the batch has no item ${String(report.index)}`, 'invalid', field('index'));
  }
  if (!Number.isInteger(report.attempt) || report.attempt < 1)
    throw new RuleViolation('batch.item.attempt', 'attempt must be a whole number ≥ 1', 'invalid', field('attempt'));
  if (report.outcome === 'succeeded') {
    if (!Number.isSafeInteger(report.revision) || report.revision < 0)
      throw new RuleViolation('batch.item.revision', 'revision must be a whole number ≥ 0', 'invalid', field('revision'));
  } else if (report.outcome === 'failed') {
    if (typeof report.reason !== 'string' || report.reason.length === 0)
      throw new RuleViolation('batch.item.reason', 'a failure needs a reason', 'invalid', field('reason'));
  } else {
    throw new RuleViolation('batch.item.outcome', "outcome must be 'succeeded' or 'failed'", 'invalid', field('outcome'));
  }
}

function recordOutcomes(state: LiveBatchState, outcomes: readonly ItemOutcomeReport[], now: string): BatchEvent[] {
  const events: BatchEvent[] = [];
  let working: BatchState = state;
  outcomes.forEach((report, i) => {
    validReport(report, i, state);
    const item = itemAt((working as LiveBatchState).items, report.index);
    if (item === undefined || item.status !== 'queued') {
      if (item?.status === 'pending')
        throw new RuleViolation('batch.item.not_enqueued', `item ${report.index} was not enqueued`, 'conflict', `outcomes.${i}.index`);
      return; // already has an outcome: a redelivered report
    }
    let event: BatchEvent;
    if (report.outcome === 'succeeded') {
      const { index, attempt, revisionBefore, revision, before, after } = report;
      event = {
        type: 'BatchItemSucceeded',
        data: { index, templateId: item.templateId, attempt, revisionBefore, revision, before, after },
      };
    } else {
      if (report.attempt <= item.attempts) return; // this attempt's failure is already recorded
      const final = !report.retryable || report.attempt >= state.options.maxAttempts;
      event = {
        type: 'BatchItemFailed',
        data: {
          index: report.index,
          templateId: item.templateId,
          reason: report.reason.slice(0, BATCH_REASON_MAX),
          attempt: report.attempt,
          retryable: report.retryable,
          final,
        },
      };
    }
    events.push(event);
    working = evolveBatch(working, event);
  });
  if (events.length === 0) return [];
  events.push({ type: 'BatchProgressRecorded', data: countsOf(working as LiveBatchState) });
  return [...events, ...endEvents(working, now)];
}

function decide(command: BatchCommand, state: BatchState): BatchEvent[] {
  switch (command.type) {
    case 'StartBatch': {
      const { batchId, tenantId, requestedBy, request, maxItems, snapshot, now } = command.data;
      if (state.status !== 'absent') throw new RuleViolation('batch.exists', 'this batch already exists', 'conflict', 'batchId');
      validIds(command.data);
      const plan = validateBatchPlan(request, { maxItems, now });
      if (snapshot.tenantId !== tenantId)
        throw new RuleViolation('batch.snapshot.tenant', 'the snapshot belongs to another tenant', 'invalid');
      assertBatchRate(snapshot);
      const report = detectConflicts(plan, snapshot);
      if (report.aborted) throw new BatchConflictViolation(report.conflicts);
      if (plan.options.dryRun) return [];
      return planEvents(
        { batchId: batchId.toLowerCase(), tenantId, requestedBy, operation: plan.operation, undoOf: null, now },
        plan.items,
        plan.options,
        report,
      );
    }
    case 'StartUndoBatch': {
      const { batchId, tenantId, requestedBy, undoOf, items, now } = command.data;
      if (state.status !== 'absent') throw new RuleViolation('batch.exists', 'this batch already exists', 'conflict', 'batchId');
      validIds(command.data);
      if (typeof undoOf !== 'string' || !isUuid(undoOf))
        throw new RuleViolation('batch.undo_of.format', 'undoOf must be a UUID', 'invalid', 'undoOf');
      if (!Array.isArray(items) || items.length === 0)
        throw new RuleViolation('batch.items.empty', 'an undo needs at least one restore item', 'invalid', 'items');
      const wrong = items.findIndex((item) => item.operation !== 'restore');
      if (wrong >= 0)
        throw new RuleViolation('batch.item.shape', 'an undo batch holds restore items only', 'invalid', `items.${wrong}.operation`);
      const options = { ...validateBatchOptions(command.data.options, now), conflictResolution: 'abort' as const, dryRun: false };
      return planEvents(
        { batchId: batchId.toLowerCase(), tenantId, requestedBy, operation: 'restore', undoOf: undoOf.toLowerCase(), now },
        items,
        options,
        null,
      );
    }
    case 'BeginScheduledBatch': {
      const batch = live(state);
      if (batch.startedAt !== null) return [];
      if (batch.status !== 'scheduled') throw notRunning(batch);
      const due = batch.options.scheduledAt === null || Date.parse(command.data.now) >= Date.parse(batch.options.scheduledAt);
      if (!due)
        throw new RuleViolation('batch.schedule.not_due', `the batch is scheduled for ${batch.options.scheduledAt ?? ''}`, 'conflict');
      const started: BatchEvent = { type: 'BatchStarted', data: { startedAt: command.data.now } };
      return [started, ...endEvents(evolveBatch(batch, started), command.data.now)];
    }
    case 'EnqueueChunk': {
      const batch = live(state);
      const { chunkIndex, now } = command.data;
      if (batch.status !== 'running') throw notRunning(batch);
      if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= batch.chunks.length) {
        throw new RuleViolation(
          'batch.chunk.unknown',
          `round ${batch.round} has chunks 0–${batch.chunks.length - 1}`,
          'invalid',
          'chunkIndex',
        );
      }
      if (chunkIndex < batch.chunksEnqueued) return [];
      if (chunkIndex > batch.chunksEnqueued)
        throw new RuleViolation('batch.chunk.order', `chunk ${batch.chunksEnqueued} comes first`, 'conflict', 'chunkIndex');
      const indexes = [...(batch.chunks[chunkIndex] ?? [])];
      return [
        {
          type: 'BatchChunkEnqueued',
          data: { round: batch.round, chunkIndex, indexes, priority: batch.options.priority, enqueuedAt: now },
        },
      ];
    }
    case 'RecordItemOutcomes': {
      const batch = live(state);
      if (!Array.isArray(command.data.outcomes))
        throw new RuleViolation('batch.outcomes.type', 'outcomes must be a list', 'invalid', 'outcomes');
      return recordOutcomes(batch, command.data.outcomes, command.data.now);
    }
    case 'WithdrawQueuedItems': {
      const batch = live(state);
      if (batch.status !== 'cancelling')
        throw new RuleViolation(
          'batch.not_cancelling',
          'items are withdrawn only while a cancel is under way',
          'conflict',
          resourceState('status'),
        );
      const indexes = [...new Set(command.data.indexes)]
        .filter((index) => itemAt(batch.items, index)?.status === 'queued')
        .sort((a, b) => a - b);
      if (indexes.length === 0) return [];
      const withdrawn: BatchEvent = { type: 'BatchItemsWithdrawn', data: { indexes } };
      const after = evolveBatch(batch, withdrawn) as LiveBatchState;
      return [withdrawn, { type: 'BatchProgressRecorded', data: countsOf(after) }, ...endEvents(after, command.data.now)];
    }
    case 'CancelBatch': {
      const batch = live(state);
      if (batch.status === 'cancelling') return [];
      if (FINISHED_BATCH_STATUSES.includes(batch.status))
        throw new RuleViolation(
          'batch.cancel.finished',
          `a ${batch.status} batch cannot be cancelled`,
          'conflict',
          resourceState('status'),
        );
      const { requestedBy, reason, now } = command.data;
      const requested: BatchEvent = { type: 'BatchCancelRequested', data: { requestedBy, reason: reason ?? null, requestedAt: now } };
      const after = evolveBatch(batch, requested) as LiveBatchState;
      if (after.status === 'scheduled') return [requested, cancelled(after, now)];
      return [requested, ...endEvents(after, now)];
    }
    case 'RetryBatch': {
      const batch = live(state);
      if (batch.counts.failed === 0)
        throw new RuleViolation('batch.retry.no_failed_items', 'the batch has no failed items to retry', 'conflict');
      if (batch.status !== 'failed' && batch.status !== 'partially_completed')
        throw new RuleViolation('batch.retry.status', `a ${batch.status} batch cannot be retried`, 'conflict', resourceState('status'));
      if (batch.undoneBy !== null) throw new RuleViolation('batch.retry.undone', `the batch was undone by ${batch.undoneBy}`, 'conflict');
      const requested = command.data.indexes ?? null;
      let indexes: number[];
      if (requested === null) {
        indexes = [];
        for (let i = 0; i < batch.total; i++) if (itemAt(batch.items, i)?.status === 'failed') indexes.push(i);
      } else {
        if (!Array.isArray(requested) || requested.length === 0)
          throw new RuleViolation('batch.retry.indexes', 'indexes must be a non-empty list or null', 'invalid', 'indexes');
        requested.forEach((index, i) => {
          if (itemAt(batch.items, index)?.status !== 'failed')
            throw new RuleViolation('batch.retry.not_failed', `item ${String(index)} has not failed`, 'conflict', `indexes.${i}`);
        });
        indexes = [...new Set(requested)].sort((a, b) => a - b);
      }
      return [
        {
          type: 'BatchRetryRequested',
          data: { round: batch.round + 1, indexes, requestedBy: command.data.requestedBy, requestedAt: command.data.now },
        },
      ];
    }
    case 'UndoBatch': {
      assertUndoable(state);
      const { undoBatchId, requestedBy, currentRevisions, now } = command.data;
      const override = command.data.override ?? false;
      if (typeof undoBatchId !== 'string' || !isUuid(undoBatchId) || undoBatchId.toLowerCase() === state.batchId) {
        throw new RuleViolation('batch.undo_batch_id.format', 'undoBatchId must be a new batch UUID', 'invalid', 'undoBatchId');
      }
      const { items, changedSinceBatch } = planUndo(state, currentRevisions, override);
      if (changedSinceBatch.length > 0 && !override) throw new BatchUndoViolation(changedSinceBatch);
      const id = undoBatchId.toLowerCase();
      return [
        { type: 'BatchUndoRequested', data: { undoBatchId: id, override, requestedBy, requestedAt: now } },
        { type: 'BatchUndoPlanned', data: { undoBatchId: id, items, changedSinceBatch } },
      ];
    }
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

export const batchDecider: Decider<BatchState, BatchCommand, BatchEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve: evolveBatch,
};
