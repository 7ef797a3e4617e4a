// Batch commands: load → decide → append on the batch's stream (`batch-<id>`), with the snapshot of the
// templates involved read just before deciding a start (batch-snapshot-builder.ts).
//
// - A dry run decides nothing and writes nothing: it answers the conflict report and the impact
//   (analyzeBatch) whatever the conflict resolution, so a client sees what `abort` would refuse.
// - Delete is a soft delete of each template (TemplateDeleted); undo brings them back (TemplateUndeleted).
// - Undo plans on the original batch (BatchUndoRequested + BatchUndoPlanned), then starts the undo batch
//   (operation 'restore') whose id derives from the original's: a retried undo lands on the same batch.
import {
  analyzeBatch,
  assertUndoable,
  batchDecider,
  planUndo,
  validateBatchPlan,
  withCreateItemIds,
  type BatchAnalysis,
  type BatchCommand,
  type BatchEvent,
  type BatchItem,
  type BatchPlanInput,
  type BatchState,
  type ChangedSinceBatch,
} from '../../domain/batches/index.js';
import { batchStreamId } from '../../domain/batches/batch-streams.js';
import { StreamNotFoundError } from '../../ports/event-store.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { templateStreamId } from '../../domain/templates/index.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult } from '../handle-command.js';
import { buildBatchSnapshot, type BatchSnapshotReads } from './batch-snapshot-builder.js';
import type { BatchRunResult, BatchStreamCache } from './batch-stream-cache.js';

export interface BatchLimits {
  /** BATCH_MAX_ITEMS: the most items one batch may hold. */
  readonly maxItems: number;
  readonly maxTemplatesPerTenant: number;
  readonly maxBatchesPerMinute: number;
}

export interface BatchCommandDeps extends CommandDeps {
  readonly reads: BatchSnapshotReads;
  readonly limits: BatchLimits;
  /** The writer of existing batch streams, shared with this process's workers (see batch-stream-cache.ts). */
  readonly streams: BatchStreamCache;
}

export type BatchCommandResult = CommandResult<BatchState, BatchEvent>;

/** Many workers append outcomes to one batch stream: a conflicting append is decided again, often. */
const BATCH_RETRIES = 50;

export function runBatchCommand(
  deps: CommandDeps,
  context: CommandContext,
  batchId: string,
  command: BatchCommand,
  options: { expectNew?: boolean } = {},
): Promise<BatchCommandResult> {
  return handleCommand({ ...deps, maxRetries: Math.max(deps.maxRetries ?? 0, BATCH_RETRIES) }, batchDecider, {
    streamId: batchStreamId(batchId),
    command,
    context,
    ...(options.expectNew ? { expectNew: true } : {}),
  });
}

export const loadBatch = (deps: Pick<CommandDeps, 'eventStore' | 'upcasters'>, tenantId: string, batchId: string) =>
  loadAggregate(deps, batchDecider, batchStreamId(batchId), { tenantId });

const now = (deps: CommandDeps) => deps.clock().toISOString();

export type StartBatchResult =
  { dryRun: false; batchId: string; result: BatchCommandResult } | { dryRun: true; batchId: string; analysis: BatchAnalysis };

/** The id of a create item given without one: from the batch and the item's index, the same on every retry. */
export const batchItemTemplateId = (tenantId: string, batchId: string, index: number): string =>
  deterministicUuid(`batch-item:${tenantId}`, `${batchId.toLowerCase()}:${index}`);

/**
 * A client's batch; `batchId` defaults to one derived from the command id (a retry hits the same stream),
 * and a create item without `templateId` gets one derived from the batch id and its index.
 */
export async function startBatch(
  deps: BatchCommandDeps,
  context: CommandContext,
  asked: BatchPlanInput & { batchId?: string },
): Promise<StartBatchResult> {
  const at = now(deps);
  const batchId = (asked.batchId ?? deterministicUuid(`batch:${context.tenantId}`, context.commandId)).toLowerCase();
  const input = withCreateItemIds(asked, (index) => batchItemTemplateId(context.tenantId, batchId, index));
  const plan = validateBatchPlan(input, {
    maxItems: deps.limits.maxItems,
    now: at,
  });
  const snapshot = await buildBatchSnapshot(deps, deps.reads, deps.limits, context.tenantId, plan.items);
  if (plan.options.dryRun) return { dryRun: true, batchId, analysis: analyzeBatch(plan, snapshot) };
  const command: BatchCommand = {
    type: 'StartBatch',
    data: {
      batchId,
      tenantId: context.tenantId,
      requestedBy: context.userId,
      request: input,
      maxItems: deps.limits.maxItems,
      snapshot,
      now: at,
    },
  };
  return {
    dryRun: false,
    batchId,
    result: await runBatchCommand(deps, context, batchId, command, {
      expectNew: true,
    }),
  };
}

export const cancelBatch = (
  deps: BatchCommandDeps,
  context: CommandContext,
  batchId: string,
  reason: string | null,
): Promise<BatchRunResult> =>
  deps.streams.run(context, batchId, {
    type: 'CancelBatch',
    data: { requestedBy: context.userId, reason, now: now(deps) },
  });

export const retryBatch = (
  deps: BatchCommandDeps,
  context: CommandContext,
  batchId: string,
  indexes: number[] | null,
): Promise<BatchRunResult> =>
  deps.streams.run(context, batchId, {
    type: 'RetryBatch',
    data: { requestedBy: context.userId, indexes, now: now(deps) },
  });

/** The undo batch of `batchId`: one per batch, so its id derives from the original's. */
export const undoBatchIdOf = (batchId: string) => deterministicUuid('batch:undo', batchId.toLowerCase());

/** Each template's stream revision now; a template without a stream is left out (it counts as changed). */
async function currentRevisions(deps: Pick<CommandDeps, 'eventStore'>, templateIds: readonly string[]): Promise<Record<string, number>> {
  const revisions: Record<string, number> = {};
  for (const templateId of new Set(templateIds)) {
    try {
      const events = await deps.eventStore.readStream(templateStreamId(templateId));
      const last = events.at(-1);
      if (last) revisions[templateId] = Number(last.revision);
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
  }
  return revisions;
}

export type UndoPreview = {
  undoOf: string;
  undoBatchId: string;
  items: BatchItem[];
  changedSinceBatch: ChangedSinceBatch[];
  refused: boolean;
};
export type UndoResult = { dryRun: true; preview: UndoPreview } | { dryRun: false; undoBatchId: string; result: BatchCommandResult };

export async function undoBatch(
  deps: BatchCommandDeps,
  context: CommandContext,
  batchId: string,
  options: { override: boolean; dryRun: boolean },
): Promise<UndoResult> {
  const loaded = await loadBatch(deps, context.tenantId, batchId);
  const state = loaded.state;
  assertUndoable(state);
  const changed: string[] = [];
  for (const block of state.items) for (const item of block) if (item.status === 'succeeded') changed.push(item.templateId);
  const revisions = await currentRevisions(deps, changed);
  const undoBatchId = undoBatchIdOf(state.batchId);
  if (options.dryRun) {
    const { items, changedSinceBatch } = planUndo(state, revisions, options.override);
    return {
      dryRun: true,
      preview: {
        undoOf: state.batchId,
        undoBatchId,
        items,
        changedSinceBatch,
        refused: changedSinceBatch.length > 0 && !options.override,
      },
    };
  }
  const planned = await deps.streams.run(context, batchId, {
    type: 'UndoBatch',
    data: {
      undoBatchId,
      requestedBy: context.userId,
      currentRevisions: revisions,
      override: options.override,
      now: now(deps),
    },
  });
  const plan = planned.events.find((event) => event.type === 'BatchUndoPlanned');
  if (!plan || plan.type !== 'BatchUndoPlanned')
    throw new RuleViolation('batch.undo.already_requested', `this batch is already undone by batch ${undoBatchId}`, 'conflict');
  const result = await startUndoBatch(deps, context, state.batchId, plan.data.undoBatchId, plan.data.items);
  return { dryRun: false, undoBatchId, result };
}

/** Starts the undo batch planned on `undoOf`; idempotent (the process manager repeats it after a crash). */
export function startUndoBatch(
  deps: CommandDeps,
  context: CommandContext,
  undoOf: string,
  undoBatchId: string,
  items: BatchItem[],
): Promise<BatchCommandResult> {
  const command: BatchCommand = {
    type: 'StartUndoBatch',
    data: {
      batchId: undoBatchId,
      tenantId: context.tenantId,
      requestedBy: context.userId,
      undoOf,
      items,
      now: now(deps),
    },
  };
  return runBatchCommand(deps, { ...context, commandId: `undo:${undoBatchId}` }, undoBatchId, command, { expectNew: true });
}
