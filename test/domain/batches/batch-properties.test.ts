// Invariants of the batch domain, for any plan, snapshot and any order of process-manager and worker steps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_STATUS_TRANSITIONS,
  BatchConflictViolation,
  FINISHED_BATCH_STATUSES,
  ITEM_OUTCOMES,
  batchDecider,
  batchProgress,
  detectConflicts,
  itemsOf,
  planChunks,
  validateBatchPlan,
  type BatchCommand,
  type BatchEvent,
  type BatchState,
  type ConflictResolution,
  type LiveBatchState,
  type TemplateSnapshot,
} from '../../../src/domain/batches/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import { TEMPLATE_STATUSES } from '../../../src/domain/templates/index.js';
import { LATER, NOW, USER, snapshot, startBatch, template, uuid } from './batch-fixtures.js';

// ---- a random run of the process manager and its workers ----

type Step =
  | { kind: 'enqueue' }
  | { kind: 'report'; pick: number; succeed: boolean; retryable: boolean; duplicate: boolean }
  | { kind: 'cancel' }
  | { kind: 'withdraw'; pick: number }
  | { kind: 'retry' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'enqueue' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      pick: fc.nat(),
      succeed: fc.boolean(),
      retryable: fc.boolean(),
      duplicate: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'cancel' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'retry' as const }) },
);

const live = (state: BatchState) => state as LiveBatchState;
const queuedIndexes = (state: LiveBatchState) => itemsOf(state.items).flatMap((item, index) => (item.status === 'queued' ? [index] : []));

function commandFor(state: LiveBatchState, s: Step): BatchCommand {
  switch (s.kind) {
    case 'enqueue':
      return { type: 'EnqueueChunk', data: { chunkIndex: state.chunksEnqueued, now: NOW } };
    case 'cancel':
      return { type: 'CancelBatch', data: { requestedBy: USER, now: LATER } };
    case 'retry':
      return { type: 'RetryBatch', data: { requestedBy: USER, now: LATER } };
    case 'withdraw': {
      const queued = queuedIndexes(state);
      return {
        type: 'WithdrawQueuedItems',
        data: { indexes: queued.length === 0 ? [] : [queued[s.pick % queued.length] as number], now: LATER },
      };
    }
    case 'report': {
      const queued = queuedIndexes(state);
      const index = queued.length === 0 ? s.pick % state.total : (queued[s.pick % queued.length] as number);
      const attempts = itemsOf(state.items)[index]?.attempts ?? 0;
      const attempt = s.duplicate ? Math.max(1, attempts) : attempts + 1;
      const outcome = s.succeed
        ? { index, outcome: 'succeeded' as const, attempt, revisionBefore: 3, revision: 4, before: null, after: null }
        : { index, outcome: 'failed' as const, attempt, reason: 'boom', retryable: s.retryable };
      return { type: 'RecordItemOutcomes', data: { outcomes: [outcome], now: LATER } };
    }
  }
}

/** Decides, or returns [] for a refusal (a refused command records nothing). */
function attempt(state: BatchState, command: BatchCommand): BatchEvent[] {
  try {
    return batchDecider.decide(command, state);
  } catch (error) {
    if (error instanceof RuleViolation) return [];
    throw error;
  }
}

/** Folds `events`, checking the status machine and that outcomes only change through a retry. */
function apply(state: BatchState, events: readonly BatchEvent[]): BatchState {
  let current = state;
  for (const event of events) {
    const next = batchDecider.evolve(current, event);
    if (current.status !== 'absent' && next.status !== current.status) {
      expect(BATCH_STATUS_TRANSITIONS[current.status]).toContain(next.status);
      if (FINISHED_BATCH_STATUSES.includes(current.status)) expect(event.type).toBe('BatchRetryRequested');
    }
    if (current.status !== 'absent') {
      const before = itemsOf(live(current).items);
      itemsOf(live(next).items).forEach((item, i) => {
        const was = before[i]?.status;
        if (was !== undefined && ITEM_OUTCOMES.includes(was) && item.status !== was) {
          expect([was, item.status, event.type]).toEqual(['failed', 'pending', 'BatchRetryRequested']);
        }
      });
    }
    current = next;
  }
  return current;
}

function checkCounts(state: LiveBatchState): void {
  const tally = { pending: 0, queued: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
  for (const item of itemsOf(state.items)) tally[item.status] += 1;
  expect(state.counts).toEqual(tally);
  const progress = batchProgress(state.counts, { startedAt: NOW, now: LATER });
  expect(progress.total).toBe(state.total);
  expect(progress.succeeded + progress.failed + progress.skipped + progress.cancelled + progress.pending + progress.queued).toBe(
    state.total,
  );
  expect(progress.percentage).toBeGreaterThanOrEqual(0);
  expect(progress.percentage === 100).toBe(progress.pending + progress.queued === 0);
}

/** Runs the batch to its end the plain way: enqueue, succeed every queued item, withdraw when cancelling. */
function drain(state: LiveBatchState): LiveBatchState {
  let current = state;
  for (let guard = 0; guard < 1000 && !FINISHED_BATCH_STATUSES.includes(current.status); guard++) {
    const queued = queuedIndexes(current);
    let command: BatchCommand;
    if (current.status === 'cancelling') command = { type: 'WithdrawQueuedItems', data: { indexes: queued, now: LATER } };
    else if (current.status === 'scheduled') command = { type: 'BeginScheduledBatch', data: { now: LATER } };
    else if (queued.length > 0) {
      const outcomes = queued.map((index) => ({
        index,
        outcome: 'succeeded' as const,
        attempt: (itemsOf(current.items)[index]?.attempts ?? 0) + 1,
        revisionBefore: 3,
        revision: 4,
        before: null,
        after: null,
      }));
      command = { type: 'RecordItemOutcomes', data: { outcomes, now: LATER } };
    } else command = { type: 'EnqueueChunk', data: { chunkIndex: current.chunksEnqueued, now: NOW } };
    current = live(apply(current, batchDecider.decide(command, current)));
    checkCounts(current);
  }
  return current;
}

describe('Batch invariants', () => {
  it('every item ends in exactly one outcome, counts always sum to the total, and finished states are left only by a retry', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.boolean(), { maxLength: 12 }),
        fc.array(step, { maxLength: 60 }),
        (size, chunkSize, maxAttempts, moved, steps) => {
          // Items whose template moved on are skipped by their version conflict.
          const templates = Array.from({ length: size }, (_, i) => template(i + 1, { revision: moved[i] === true ? 9 : 3 }));
          const items = templates.map((t) => ({ templateId: t.templateId, expectedRevision: 3, changes: { description: 'new' } }));
          const start = startBatch(
            { operation: 'update', items, options: { chunkSize, maxAttempts, conflictResolution: 'skip' } },
            snapshot(templates),
          );
          let state = live(apply(batchDecider.initialState(), batchDecider.decide(start, batchDecider.initialState())));
          for (const s of steps) {
            state = live(apply(state, attempt(state, commandFor(state, s))));
            checkCounts(state);
          }
          const end = drain(state);
          expect(FINISHED_BATCH_STATUSES).toContain(end.status);
          expect(itemsOf(end.items).every((item) => ITEM_OUTCOMES.includes(item.status))).toBe(true);
          expect(end.counts.pending + end.counts.queued).toBe(0);
          // Undo restores exactly the applied items, latest first; unchanged since, it is not refused.
          const applied = itemsOf(end.items).flatMap((item) => (item.status === 'succeeded' ? [item.templateId] : []));
          const revisions = Object.fromEntries(applied.map((id) => [id, 4]));
          if (applied.length > 0) {
            const undone = batchDecider.decide(
              { type: 'UndoBatch', data: { undoBatchId: uuid(0xd0), requestedBy: USER, currentRevisions: revisions, now: LATER } },
              end,
            );
            expect(undone[1]).toMatchObject({ type: 'BatchUndoPlanned', data: { changedSinceBatch: [] } });
            expect((undone[1] as Extract<BatchEvent, { type: 'BatchUndoPlanned' }>).data.items.map((item) => item.templateId)).toEqual(
              [...applied].reverse(),
            );
          }
          // Finished for good: nothing but a retry (with failed items) moves it again.
          for (const s of steps.slice(0, 10)) {
            const command = commandFor(end, s);
            if (command.type === 'RetryBatch') continue;
            expect(attempt(end, command)).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('chunk planning covers every item exactly once, in index order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 200 }), { maxLength: 100 }), fc.integer({ min: 1, max: 20 }), (indexes, chunkSize) => {
        const chunks = planChunks(indexes, chunkSize);
        expect(chunks.flat()).toEqual([...new Set(indexes)].sort((a, b) => a - b));
        chunks.forEach((chunk, i) => {
          expect(chunk.length).toBeGreaterThan(0);
          if (i < chunks.length - 1) expect(chunk.length).toBe(chunkSize);
          else expect(chunk.length).toBeLessThanOrEqual(chunkSize);
        });
      }),
    );
  });
});

// ---- conflict resolution over random snapshots ----

const FIELDS = ['name', 'description', 'defaultPrice', 'defaultMinParticipants', 'isPublic'] as const;
const changeFor: Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>> = {
  name: fc.constantFrom('Template 1', ' template  2', 'Fresh', 'FRESH ', 'Other'),
  description: fc.constant('new'),
  defaultPrice: fc.integer({ min: -3, max: 3 }).map((amountMinor) => ({ amountMinor, currency: 'EUR' })),
  defaultMinParticipants: fc.integer({ min: 1, max: 20 }),
  isPublic: fc.boolean(),
};

const scenario = fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }).chain((ids) =>
  fc.tuple(
    fc.tuple(
      ...ids.map((n) =>
        fc.record({
          n: fc.constant(n),
          revision: fc.integer({ min: 1, max: 5 }),
          status: fc.constantFrom(...TEMPLATE_STATUSES),
          foreign: fc.boolean().map((b) => b && n % 3 === 0),
          historyFields: fc.array(fc.subarray([...FIELDS]), { minLength: 5, maxLength: 5 }),
          prepared: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
          changes: fc
            .subarray([...FIELDS], { minLength: 1 })
            .chain((fields) => fc.tuple(...fields.map((f) => changeFor[f].map((v) => [f, v] as const)))),
        }),
      ),
    ),
    fc.constantFrom<ConflictResolution>('abort', 'skip', 'override', 'merge'),
  ),
);

type Row = {
  n: number;
  revision: number;
  status: TemplateSnapshot['status'];
  foreign: boolean;
  historyFields: string[][];
  prepared: number | null;
  changes: (readonly [string, unknown])[];
};

function build(rows: readonly Row[], resolution: ConflictResolution) {
  const templates: TemplateSnapshot[] = rows.map((r) =>
    template(r.n, {
      revision: r.revision,
      status: r.status,
      ownerTenantId: r.foreign ? 'other' : 'acme',
      history: Array.from({ length: r.revision }, (_, i) => ({ revision: i + 1, fields: [...(r.historyFields[i] ?? [])] })),
    }),
  );
  const items = rows.map((r) => ({
    templateId: uuid(r.n),
    expectedRevision: r.prepared === null ? null : Math.min(r.prepared, r.revision),
    changes: Object.fromEntries(r.changes),
  }));
  const plan = validateBatchPlan({ operation: 'update', items, options: { conflictResolution: resolution } }, { maxItems: 100, now: NOW });
  return { templates, items, plan, snap: snapshot(templates) };
}

describe('Batch conflict resolution invariants', () => {
  it('abort plans nothing when any item conflicts; skip never runs a conflicting item; override never applies an integrity conflict', () => {
    fc.assert(
      fc.property(scenario, ([rows, resolution]) => {
        const { plan, snap } = build(rows, resolution);
        const report = detectConflicts(plan, snap);
        const conflicting = new Set(report.conflicts.map((c) => c.index));
        if (resolution === 'abort') {
          expect(report.aborted).toBe(conflicting.size > 0);
          if (conflicting.size > 0) {
            expect(report.decisions.some((d) => d.run)).toBe(false);
            expect(() =>
              batchDecider.decide(startBatch({ operation: 'update', items: plan.items, options: plan.options }, snap), {
                status: 'absent',
              }),
            ).toThrow(BatchConflictViolation);
          } else expect(report.decisions.every((d) => d.run)).toBe(true);
        }
        if (resolution === 'skip') report.decisions.forEach((d) => expect(d.run).toBe(!conflicting.has(d.index)));
        if (resolution === 'override') {
          for (const c of report.conflicts)
            if (c.type === 'integrity' || c.type === 'access' || !c.overridable) expect(report.decisions[c.index]?.run).toBe(false);
        }
        // Whatever the strategy, every item is decided exactly once, in order.
        expect(report.decisions.map((d) => d.index)).toEqual(plan.items.map((_, i) => i));
        // And the recorded batch plans to run exactly the items the report runs: the rest are skipped.
        if (!report.aborted) {
          const state = live(
            batchDecider
              .decide(startBatch({ operation: 'update', items: plan.items, options: plan.options }, snap), { status: 'absent' })
              .reduce(batchDecider.evolve, batchDecider.initialState()),
          );
          const runs = report.decisions.filter((d) => d.run).map((d) => d.index);
          expect(state.chunks.flat()).toEqual(runs);
          expect(state.counts.skipped).toBe(plan.items.length - runs.length);
          runs.forEach((index) =>
            expect(itemsOf(state.items)[index]?.runAgainstRevision).toBe(report.decisions[index]?.runAgainstRevision),
          );
        }
      }),
      { numRuns: 400 },
    );
  });

  it('merge applies an item with only a version conflict iff its fields and the fields changed since are disjoint', () => {
    fc.assert(
      fc.property(scenario, ([rows]) => {
        const { items, templates, plan, snap } = build(rows, 'merge');
        const report = detectConflicts(plan, snap);
        items.forEach((item, index) => {
          const mine = report.conflicts.filter((c) => c.index === index);
          const t = templates[index] as TemplateSnapshot;
          if (mine.some((c) => c.type === 'access')) return; // nothing more is known of a template the tenant may not change
          const moved = item.expectedRevision !== null && item.expectedRevision < t.revision;
          expect(mine.some((c) => c.type === 'version')).toBe(moved);
          if (!moved || mine.some((c) => c.type !== 'version')) return;
          const since = new Set(t.history.filter((h) => h.revision > (item.expectedRevision as number)).flatMap((h) => h.fields));
          const disjoint = Object.keys(item.changes).every((field) => !since.has(field));
          expect(report.decisions[index]).toMatchObject({ run: disjoint, resolution: disjoint ? 'merged' : 'skipped' });
          if (disjoint) expect(report.decisions[index]?.runAgainstRevision).toBe(t.revision);
        });
      }),
      { numRuns: 400 },
    );
  });
});
