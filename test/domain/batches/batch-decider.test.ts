// The Batch aggregate: given events, when a command, then events (or a refused rule).
import { describe, expect, it } from 'vitest';
import {
  BatchConflictViolation,
  BatchUndoViolation,
  batchDecider,
  type BatchCommand,
  type BatchEvent,
  type ItemOutcomeReport,
  type LiveBatchState,
} from '../../../src/domain/batches/index.js';
import {
  BATCH,
  LATER,
  NOW,
  TENANT,
  UNDO_BATCH,
  USER,
  cleanUpdate,
  failure,
  given,
  run,
  snapshot,
  startBatch,
  stateAfter,
  success,
  template,
  uuid,
} from './batch-fixtures.js';

const enqueue = (chunkIndex: number): BatchCommand => ({ type: 'EnqueueChunk', data: { chunkIndex, now: NOW } });
const outcomes = (...reports: ItemOutcomeReport[]): BatchCommand => ({
  type: 'RecordItemOutcomes',
  data: { outcomes: reports, now: LATER },
});
const cancel: BatchCommand = { type: 'CancelBatch', data: { requestedBy: USER, reason: 'oops', now: LATER } };
const retry = (indexes?: number[]): BatchCommand => ({
  type: 'RetryBatch',
  data: { requestedBy: USER, indexes: indexes ?? null, now: LATER },
});
const undo = (currentRevisions: Record<string, number>, override = false, undoBatchId = UNDO_BATCH): BatchCommand => ({
  type: 'UndoBatch',
  data: { undoBatchId, requestedBy: USER, currentRevisions, override, now: LATER },
});
const counts = (c: Partial<Record<'pending' | 'queued' | 'succeeded' | 'failed' | 'skipped' | 'cancelled', number>>, total: number) => ({
  pending: 0,
  queued: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  cancelled: 0,
  ...c,
  total,
});

/** Two clean update items, one per chunk, started. */
const twoItems = cleanUpdate(2, { chunkSize: 1 });
const started = run([], twoItems.command);
const bothQueued = run(run(started, enqueue(0)), enqueue(1));

describe('Batch decider', () => {
  describe('start', () => {
    it('records the plan with defaults filled in and starts at once when not scheduled', () => {
      const [plan, start, ...rest] = batchDecider.decide(twoItems.command, stateAfter([]));
      expect(rest).toEqual([]);
      expect(start).toEqual({ type: 'BatchStarted', data: { startedAt: NOW } });
      expect(plan).toMatchObject({
        type: 'BatchPlanRecorded',
        data: {
          batchId: BATCH,
          tenantId: TENANT,
          requestedBy: USER,
          operation: 'update',
          total: 2,
          undoOf: null,
          requestedAt: NOW,
          options: {
            chunkSize: 1,
            concurrency: 4,
            conflictResolution: 'abort',
            priority: 5,
            maxAttempts: 3,
            scheduledAt: null,
            dryRun: false,
          },
          items: [
            { operation: 'update', templateId: uuid(1), expectedRevision: 3, changes: { description: 'new' } },
            { templateId: uuid(2) },
          ],
        },
      });
      expect((stateAfter(started) as LiveBatchState).chunks).toEqual([[0], [1]]);
    });

    it('waits for its scheduled time, then starts', () => {
      const at = '2026-11-26T13:00:00.000Z';
      const scheduled = cleanUpdate(1, { scheduledAt: at });
      const events = run([], scheduled.command);
      expect(events.map((e) => e.type)).toEqual(['BatchPlanRecorded']);
      expect(stateAfter(events).status).toBe('scheduled');
      given(...events)
        .when({ type: 'BeginScheduledBatch', data: { now: LATER } })
        .thenRefuses('batch.schedule.not_due', 'conflict');
      given(...events)
        .when({ type: 'BeginScheduledBatch', data: { now: at } })
        .then([{ type: 'BatchStarted', data: { startedAt: at } }]);
      const begun = run(events, { type: 'BeginScheduledBatch', data: { now: at } });
      given(...begun)
        .when({ type: 'BeginScheduledBatch', data: { now: at } })
        .then([]);
    });

    it('a dry run records nothing', () => {
      given()
        .when(cleanUpdate(2, { dryRun: true }).command)
        .then([]);
    });

    it('refuses an empty batch, too many items, an unknown operation and a time in the past', () => {
      const snap = snapshot([template(1)]);
      given()
        .when(startBatch({ operation: 'update', items: [] }, snap))
        .thenRefuses('batch.items.empty', 'invalid', 'items');
      const three = cleanUpdate(3);
      given()
        .when(startBatch(three.request, snapshot(three.templates), { maxItems: 2 }))
        .thenRefuses('batch.items.too_many', 'invalid', 'items');
      given()
        .when(startBatch({ operation: 'rename', items: [{}] }, snap))
        .thenRefuses('batch.operation.unknown', 'invalid', 'operation');
      given()
        .when(startBatch({ operation: 'restore', items: [{}] }, snap))
        .thenRefuses('batch.operation.unknown', 'invalid', 'operation');
      const past = cleanUpdate(1, { scheduledAt: '2026-11-26T11:59:59.000Z' });
      given().when(past.command).thenRefuses('batch.scheduled_at.past', 'invalid', 'options.scheduledAt');
      // Beyond a year and a day ahead (year 9999 above all): refused naming the field, never queued.
      for (const far of ['9999-12-31T00:00:00.000Z', '2027-11-28T12:00:00.001Z'])
        given()
          .when(cleanUpdate(1, { scheduledAt: far }).command)
          .thenRefuses('batch.scheduled_at.too_far', 'invalid', 'options.scheduledAt');
      given()
        .when(cleanUpdate(1, { conflictResolution: 'ignore' }).command)
        .thenRefuses('batch.options.invalid', 'invalid', 'options.conflictResolution');
      given()
        .when(cleanUpdate(1, { chunkSize: 0 }).command)
        .thenRefuses('batch.options.invalid', 'invalid', 'options.chunkSize');
    });

    it('refuses items of the wrong shape, naming the index and the field', () => {
      const snap = snapshot([template(1), template(2)]);
      const update = (items: unknown[]) => startBatch({ operation: 'update', items }, snap);
      given()
        .when(
          update([
            { templateId: uuid(1), changes: { name: 'x' } },
            { templateId: 'nope', changes: {} },
          ]),
        )
        .thenRefuses('batch.item.shape', 'invalid', 'items.1.templateId');
      given()
        .when(update([{ templateId: uuid(1), changes: { ownerTenantId: 'evil' } }]))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.changes.ownerTenantId');
      given()
        .when(update([{ templateId: uuid(1), changes: {} }]))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.changes');
      given()
        .when(update([{ templateId: uuid(1), expectedRevision: -1, changes: { name: 'x' } }]))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.expectedRevision');
      given()
        .when(update(['just a string']))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.');
      given()
        .when(startBatch({ operation: 'create', items: [{ templateId: uuid(9), templateType: 'base' }] }, snap))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.name');
      given()
        .when(startBatch({ operation: 'changeParent', items: [{ templateId: uuid(1) }] }, snap))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.parentTemplateId');
      const create = (item: Record<string, unknown>) =>
        startBatch({ operation: 'create', items: [{ templateId: uuid(9), name: 'N', templateType: 'base', ...item }] }, snap);
      given()
        .when(create({ ownerTenantId: 'other' }))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.ownerTenantId');
      given()
        .when(create({ isSystemTemplate: true }))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.isSystemTemplate');
      given()
        .when(create({ parentTemplateId: 'x' }))
        .thenRefuses('batch.item.shape', 'invalid', 'items.0.parentTemplateId');
      given()
        .when(
          update([
            { templateId: uuid(1), changes: { name: 'a' } },
            { templateId: uuid(1).toUpperCase(), changes: { name: 'b' } },
          ]),
        )
        .thenRefuses('batch.item.duplicate', 'invalid', 'items.1.templateId');
    });

    it('takes one change for many ids', () => {
      const snap = snapshot([template(1), template(2)]);
      const [plan] = batchDecider.decide(
        startBatch(
          { operation: 'update', sharedChanges: { isPublic: true }, items: [{ templateId: uuid(1) }, { templateId: uuid(2) }] },
          snap,
        ),
        stateAfter([]),
      );
      expect(plan).toMatchObject({ data: { items: [{ changes: { isPublic: true } }, { changes: { isPublic: true } }] } });
    });

    it('refuses the whole batch under abort when any item conflicts, listing every conflict', () => {
      const moved = template(1, { revision: 5 });
      const command = startBatch(
        { operation: 'update', items: [{ templateId: uuid(1), expectedRevision: 3, changes: { description: 'x' } }] },
        snapshot([moved]),
      );
      const thrown = given().when(command).thenRefuses('batch.conflicts.abort', 'conflict');
      expect(thrown).toBeInstanceOf(BatchConflictViolation);
      expect((thrown as BatchConflictViolation).conflicts).toMatchObject([
        { index: 0, type: 'version', currentRevision: 5, resolution: 'aborted' },
      ]);
    });

    it('under skip records the conflict, its resolution and the skipped item, then runs the rest', () => {
      const templates = [template(1, { revision: 5 }), template(2)];
      const request = {
        operation: 'update',
        items: [
          { templateId: uuid(1), expectedRevision: 3, changes: { description: 'x' } },
          { templateId: uuid(2), expectedRevision: 3, changes: { description: 'x' } },
        ],
        options: { conflictResolution: 'skip' },
      };
      const events = batchDecider.decide(startBatch(request, snapshot(templates)), stateAfter([]));
      expect(events.map((e) => e.type)).toEqual([
        'BatchPlanRecorded',
        'BatchConflictsDetected',
        'BatchConflictResolutionsApplied',
        'BatchItemSkipped',
        'BatchStarted',
      ]);
      expect(events[2]).toEqual({
        type: 'BatchConflictResolutionsApplied',
        data: { resolution: 'skip', items: [{ index: 0, templateId: uuid(1), resolution: 'skipped', run: false, runAgainstRevision: 5 }] },
      });
      expect(events[3]).toMatchObject({ type: 'BatchItemSkipped', data: { index: 0, conflictTypes: ['version'] } });
      const state = stateAfter(events) as LiveBatchState;
      expect(state.counts).toMatchObject({ skipped: 1, pending: 1 });
      expect(state.chunks).toEqual([[1]]);
    });

    it('ends at once as failed when every item is skipped (nothing applied)', () => {
      const request = { operation: 'archive', items: [{ templateId: uuid(7) }], options: { conflictResolution: 'skip' } };
      const events = batchDecider.decide(startBatch(request, snapshot([])), stateAfter([]));
      expect(events.at(-1)).toEqual({ type: 'BatchFailed', data: { finishedAt: NOW, counts: counts({ skipped: 1 }, 1) } });
    });

    it('refuses an existing batch and a tenant over its batch rate', () => {
      given(...started)
        .when(twoItems.command)
        .thenRefuses('batch.exists', 'conflict', 'batchId');
      given()
        .when(startBatch(twoItems.request, snapshot(twoItems.templates, { batchesLastMinute: 10 })))
        .thenRefuses('batch.rate.limit', 'too_many');
    });
  });

  describe('chunks', () => {
    it('enqueues chunks in order, once each', () => {
      given(...started)
        .when(enqueue(0))
        .then([{ type: 'BatchChunkEnqueued', data: { round: 0, chunkIndex: 0, indexes: [0], priority: 5, enqueuedAt: NOW } }]);
      given(...started)
        .when(enqueue(1))
        .thenRefuses('batch.chunk.order', 'conflict', 'chunkIndex');
      given(...started)
        .when(enqueue(2))
        .thenRefuses('batch.chunk.unknown', 'invalid', 'chunkIndex');
      given(...run(started, enqueue(0)))
        .when(enqueue(0))
        .then([]);
    });
  });

  describe('outcomes', () => {
    it('records a success with the revisions, then the progress; the last outcome completes the batch', () => {
      const first = run(bothQueued, outcomes(success(0)));
      const { before, after } = success(0);
      expect(first.slice(bothQueued.length)).toEqual([
        { type: 'BatchItemSucceeded', data: { index: 0, templateId: uuid(1), attempt: 1, revisionBefore: 3, revision: 4, before, after } },
        { type: 'BatchProgressRecorded', data: counts({ succeeded: 1, queued: 1 }, 2) },
      ]);
      given(...first)
        .when(outcomes(success(1)))
        .then([
          {
            type: 'BatchItemSucceeded',
            data: {
              index: 1,
              templateId: uuid(2),
              attempt: 1,
              revisionBefore: 3,
              revision: 4,
              before: success(1).before,
              after: success(1).after,
            },
          },
          { type: 'BatchProgressRecorded', data: counts({ succeeded: 2 }, 2) },
          { type: 'BatchCompleted', data: { finishedAt: LATER, counts: counts({ succeeded: 2 }, 2) } },
        ]);
    });

    it('ignores a redelivered outcome and refuses one for an item not yet enqueued', () => {
      given(...run(bothQueued, outcomes(success(0))))
        .when(outcomes(success(0)))
        .then([]);
      given(...run(started, enqueue(0)))
        .when(outcomes(success(1)))
        .thenRefuses('batch.item.not_enqueued', 'conflict', 'outcomes.0.index');
      given(...bothQueued)
        .when(outcomes(success(5)))
        .thenRefuses('batch.item.unknown', 'invalid', 'outcomes.0.index');
    });

    it('keeps an item queued after a retryable failure below maxAttempts; the last attempt is final', () => {
      const once = run(bothQueued, outcomes(failure(0, 1, true)));
      expect(once[bothQueued.length]).toMatchObject({ type: 'BatchItemFailed', data: { attempt: 1, retryable: true, final: false } });
      expect((stateAfter(once) as LiveBatchState).counts).toMatchObject({ queued: 2, failed: 0 });
      given(...once)
        .when(outcomes(failure(0, 1, true)))
        .then([]);
      const third = run(run(once, outcomes(failure(0, 2, true))), outcomes(failure(0, 3, true)));
      expect((stateAfter(third) as LiveBatchState).counts).toMatchObject({ queued: 1, failed: 1 });
    });

    it('ends partially completed when some items failed, failed when none succeeded', () => {
      const partial = run(bothQueued, outcomes(success(0), failure(1)));
      expect(partial.at(-1)).toEqual({
        type: 'BatchPartiallyCompleted',
        data: { finishedAt: LATER, counts: counts({ succeeded: 1, failed: 1 }, 2) },
      });
      const failed = run(bothQueued, outcomes(failure(0), failure(1)));
      expect(failed.at(-1)).toMatchObject({ type: 'BatchFailed' });
    });
  });

  describe('cancel', () => {
    it('cancels a scheduled batch at once', () => {
      const scheduled = run([], cleanUpdate(2, { scheduledAt: '2026-11-26T13:00:00.000Z' }).command);
      given(...scheduled)
        .when(cancel)
        .then([
          { type: 'BatchCancelRequested', data: { requestedBy: USER, reason: 'oops', requestedAt: LATER } },
          { type: 'BatchCancelled', data: { finishedAt: LATER, cancelled: 2, counts: counts({ cancelled: 2 }, 2) } },
        ]);
    });

    it('lets in-flight items finish, withdraws queued ones, then is cancelled with every pending item cancelled', () => {
      const three = cleanUpdate(3, { chunkSize: 1 });
      const twoQueued = run(run(run([], three.command), enqueue(0)), enqueue(1));
      const cancelling = run(twoQueued, cancel);
      expect(stateAfter(cancelling).status).toBe('cancelling');
      given(...cancelling)
        .when(enqueue(2))
        .thenRefuses('batch.not_running', 'conflict', 'resource.status');
      const oneDone = run(cancelling, outcomes(success(0)));
      expect(stateAfter(oneDone).status).toBe('cancelling');
      given(...oneDone)
        .when({ type: 'WithdrawQueuedItems', data: { indexes: [1, 2], now: LATER } })
        .then([
          { type: 'BatchItemsWithdrawn', data: { indexes: [1] } },
          { type: 'BatchProgressRecorded', data: counts({ succeeded: 1, cancelled: 1, pending: 1 }, 3) },
          { type: 'BatchCancelled', data: { finishedAt: LATER, cancelled: 1, counts: counts({ succeeded: 1, cancelled: 2 }, 3) } },
        ]);
      const done = run(oneDone, { type: 'WithdrawQueuedItems', data: { indexes: [1], now: LATER } });
      expect((stateAfter(done) as LiveBatchState).counts).toEqual({
        pending: 0,
        queued: 0,
        succeeded: 1,
        failed: 0,
        skipped: 0,
        cancelled: 2,
      });
      given(...cancelling)
        .when(cancel)
        .then([]);
    });

    it('refuses to cancel a finished batch', () => {
      given(...run(bothQueued, outcomes(success(0), success(1))))
        .when(cancel)
        .thenRefuses('batch.cancel.finished', 'conflict', 'resource.status');
    });
  });

  describe('retry', () => {
    const partial = run(bothQueued, outcomes(success(0), failure(1)));

    it('takes the failed items back to running in a new round of chunks', () => {
      given(...partial)
        .when(retry())
        .then([{ type: 'BatchRetryRequested', data: { round: 1, indexes: [1], requestedBy: USER, requestedAt: LATER } }]);
      const retried = run(partial, retry());
      const state = stateAfter(retried) as LiveBatchState;
      expect(state).toMatchObject({ status: 'running', round: 1, chunks: [[1]], chunksEnqueued: 0, finishedAt: null });
      const again = run(run(retried, enqueue(0)), outcomes(success(1)));
      expect(again.at(-1)).toMatchObject({ type: 'BatchCompleted', data: { counts: counts({ succeeded: 2 }, 2) } });
    });

    it('refuses a batch with no failed items, an item that did not fail and a running batch', () => {
      given(...run(bothQueued, outcomes(success(0), success(1))))
        .when(retry())
        .thenRefuses('batch.retry.no_failed_items', 'conflict');
      given(...partial)
        .when(retry([0]))
        .thenRefuses('batch.retry.not_failed', 'conflict', 'indexes.0');
      given(...run(bothQueued, outcomes(failure(0))))
        .when(retry())
        .thenRefuses('batch.retry.status', 'conflict', 'resource.status');
    });
  });

  describe('undo', () => {
    const completed = run(bothQueued, outcomes(success(0, 4), success(1, 4)));
    const restore = (n: number, expectedRevision: number | null) => ({
      operation: 'restore',
      templateId: uuid(n),
      expectedRevision,
      restore: { exists: true, version: 2, status: 'active', parentTemplateId: null },
    });

    it('plans a restore per changed template, latest first', () => {
      given(...completed)
        .when(undo({ [uuid(1)]: 4, [uuid(2)]: 4 }))
        .then([
          { type: 'BatchUndoRequested', data: { undoBatchId: UNDO_BATCH, override: false, requestedBy: USER, requestedAt: LATER } },
          {
            type: 'BatchUndoPlanned',
            data: { undoBatchId: UNDO_BATCH, items: [restore(2, 4), restore(1, 4)] as never, changedSinceBatch: [] },
          },
        ]);
    });

    it('refuses, listing them, when templates changed again after the batch; override restores them anyway', () => {
      const thrown = given(...completed)
        .when(undo({ [uuid(1)]: 6, [uuid(2)]: 4 }))
        .thenRefuses('batch.undo.changed_since', 'conflict');
      expect((thrown as BatchUndoViolation).changedSinceBatch).toEqual([
        { templateId: uuid(1), revisionAfterBatch: 4, currentRevision: 6 },
      ]);
      const [, planned] = batchDecider.decide(undo({ [uuid(1)]: 6, [uuid(2)]: 4 }, true), stateAfter(completed));
      expect(planned).toMatchObject({ data: { items: [restore(2, 4), restore(1, null)] } });
    });

    it('refuses an unfinished batch, a second undo and the undo of an undo', () => {
      given(...bothQueued)
        .when(undo({}))
        .thenRefuses('batch.undo.unfinished', 'conflict', 'resource.status');
      const undone = run(completed, undo({ [uuid(1)]: 4, [uuid(2)]: 4 }));
      given(...undone)
        .when(undo({}))
        .thenRefuses('batch.undo.already_requested', 'conflict');
      given(...undone)
        .when(retry())
        .thenRefuses('batch.retry.no_failed_items', 'conflict');

      const planned = undone.at(-1) as Extract<BatchEvent, { type: 'BatchUndoPlanned' }>;
      const startUndo: BatchCommand = {
        type: 'StartUndoBatch',
        data: { batchId: UNDO_BATCH, tenantId: TENANT, requestedBy: USER, undoOf: BATCH, items: planned.data.items, now: LATER },
      };
      const undoBatch = run(run(run([], startUndo), enqueue(0)), outcomes(success(0, 5), success(1, 5)));
      expect(stateAfter(undoBatch)).toMatchObject({ status: 'completed', operation: 'restore', undoOf: BATCH });
      given(...undoBatch)
        .when(undo({}, false, uuid(0xd1)))
        .thenRefuses('batch.undo.of_undo', 'conflict');
    });

    it('refuses a batch that applied nothing', () => {
      given(...run(bothQueued, outcomes(failure(0), failure(1))))
        .when(undo({}))
        .thenRefuses('batch.undo.nothing_to_undo', 'conflict');
    });
  });
});
