// The batch process manager: reacts to batch events with jobs (inside its checkpoint transaction), and the
// workers that run them.
//
// - BatchPlanRecorded with scheduledAt → a 'begin' control job delayed until then (BeginScheduledBatch).
// - BatchStarted, BatchRetryRequested, BatchProgressRecorded → an 'advance' control job: it enqueues the
//   round's next chunks in order (EnqueueChunk) while fewer than CHUNKS_IN_FLIGHT of this batch are
//   queued. The window is what keeps tenants fair: a 100,000-item batch never holds more than a couple
//   of chunks in the queue, so another tenant's 10-item batch waits behind at most those.
// - BatchChunkEnqueued → an item job for the chunk, with the batch's priority. The item worker runs each
//   queued item (runBatchItem), appends the outcomes together (see OUTCOME_FLUSH_MS), and stops taking
//   items once the batch is cancelling: the chunk's items it did not run are withdrawn (WithdrawQueuedItems). A chunk
//   whose retryable failures are not yet final fails the job, so the queue runs it again with
//   exponential backoff; the next attempt runs only the items still queued.
// - BatchUndoPlanned → a 'startUndo' control job (the HTTP undo starts the undo batch itself; this
//   finishes it if the service died in between; StartUndoBatch is idempotent).
import { BATCH_OPTION_LIMITS, itemAt, type BatchEvent, type ItemOutcomeReport, type LiveBatchState } from '../../domain/batches/index.js';
import { batchIdOfStream, batchStreamId } from '../../domain/batches/batch-streams.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import type { TemplateCommandDeps } from '../../commands/templates/index.js';
import { startUndoBatch } from '../../commands/batches/batch-commands.js';
import { createBatchStreamCache, type BatchStreamCache } from '../../commands/batches/batch-stream-cache.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import { randomUUID } from 'node:crypto';
import type { Job, JobHandler } from '../../ports/job-queue.js';
import type { ProcessManager } from '../process-manager.js';
import { runBatchItem, type ItemOutcome } from './batch-item-runner.js';

export const BATCH_PROCESS = 'batches';
export const BATCH_CONTROL_QUEUE = 'batch-control';
export const BATCH_ITEMS_QUEUE = 'batch-items';
/** Chunks of one batch queued at a time (see the top). */
export const CHUNKS_IN_FLIGHT = 2;
/**
 * A chunk's outcomes are appended together: at the end of the chunk, and meanwhile once at least
 * OUTCOMES_PER_APPEND.min are waiting and OUTCOME_FLUSH_MS have passed since the last append (so progress
 * moves and a cancel is noticed), or OUTCOMES_PER_APPEND.max are waiting. Each append costs an append, a
 * progress event and a control job: few, large ones when items are fast, never more than one per `min`
 * items when they are slow.
 */
export const OUTCOME_FLUSH_MS = 250;
const OUTCOMES_PER_APPEND = { min: 25, max: 1000 };

export const batchProcessManager: ProcessManager = {
  name: BATCH_PROCESS,
  filter: {
    categories: ['batch'],
    eventTypes: [
      'BatchPlanRecorded',
      'BatchStarted',
      'BatchRetryRequested',
      'BatchProgressRecorded',
      'BatchChunkEnqueued',
      'BatchUndoPlanned',
    ],
  },
  async handle(recorded, context) {
    const batchId = batchIdOfStream(recorded.streamId);
    if (batchId === undefined) return;
    const tenantId = String(recorded.metadata.tenantId ?? '');
    const event = { type: recorded.type, data: recorded.data } as BatchEvent;
    switch (event.type) {
      case 'BatchPlanRecorded': {
        const at = event.data.options.scheduledAt;
        if (at === null) return;
        await context.enqueue(
          BATCH_CONTROL_QUEUE,
          { action: 'begin', batchId, tenantId },
          { delayMs: Math.max(0, Date.parse(at) - Date.now()), attempts: 10 },
        );
        return;
      }
      case 'BatchStarted':
      case 'BatchRetryRequested':
      case 'BatchProgressRecorded':
        await context.enqueue(BATCH_CONTROL_QUEUE, { action: 'advance', batchId, tenantId }, { attempts: 10 });
        return;
      case 'BatchChunkEnqueued': {
        const { round, chunkIndex, indexes } = event.data;
        await context.enqueue(
          BATCH_ITEMS_QUEUE,
          { batchId, tenantId, round, chunkIndex, indexes },
          { attempts: BATCH_OPTION_LIMITS.maxAttempts.max, priority: event.data.priority, group: tenantId },
        );
        return;
      }
      case 'BatchUndoPlanned':
        await context.enqueue(BATCH_CONTROL_QUEUE, {
          action: 'startUndo',
          batchId,
          tenantId,
          undoBatchId: event.data.undoBatchId,
          requestedBy: String(recorded.metadata.userId ?? ''),
        });
        return;
      default:
        return;
    }
  },
};

export const batchWorkerContext = (tenantId: string, batchId: string, commandId: string): CommandContext =>
  jobCommandContext({ tenantId, process: BATCH_PROCESS, commandId, correlationId: batchId });

/**
 * Per batch and round, the first chunk that may still hold a queued item: within a round a chunk whose
 * items all have an outcome never gets a queued one again, so the count below does not rescan the done
 * chunks of a 100,000-item batch on every advance.
 */
const firstOpenChunk = new Map<string, number>();

/** Chunks of the current round enqueued and still holding a queued item. */
function chunksInFlight(state: LiveBatchState): number {
  const key = `${state.batchId}:${state.round}`;
  const holdsQueued = (chunk: number) => (state.chunks[chunk] ?? []).some((index) => itemAt(state.items, index)?.status === 'queued');
  let first = Math.min(firstOpenChunk.get(key) ?? 0, state.chunksEnqueued);
  while (first < state.chunksEnqueued && !holdsQueued(first)) first++;
  firstOpenChunk.delete(key); // re-inserted last: the map's order is the eviction order
  firstOpenChunk.set(key, first);
  if (firstOpenChunk.size > 1024) firstOpenChunk.delete(firstOpenChunk.keys().next().value!);
  let inFlight = 0;
  for (let chunk = first; chunk < state.chunksEnqueued; chunk++) if (holdsQueued(chunk)) inFlight++;
  return inFlight;
}

/** The workers' shared view of the batch streams (see batch-stream-cache.ts): one per process. */
export const batchWorkerCache = (deps: CommandDeps): BatchStreamCache => createBatchStreamCache(deps);

async function liveBatch(cache: BatchStreamCache, tenantId: string, batchId: string): Promise<LiveBatchState | undefined> {
  const { state } = await cache.load(tenantId, batchId);
  return state.status === 'absent' ? undefined : state;
}

export function batchControlWorker(deps: CommandDeps, cache: BatchStreamCache = batchWorkerCache(deps)): JobHandler {
  return async (job: Job) => {
    const { action, batchId, tenantId } = job.payload as {
      action: string;
      batchId: string;
      tenantId: string;
    };
    if (action === 'startUndo') {
      const { undoBatchId, requestedBy } = job.payload as {
        undoBatchId: string;
        requestedBy: string;
      };
      const events = await deps.eventStore.readStream(batchStreamId(batchId));
      const plan = events.find((event) => event.type === 'BatchUndoPlanned' && event.data.undoBatchId === undoBatchId);
      if (!plan) return;
      await startUndoBatch(
        deps,
        {
          ...batchWorkerContext(tenantId, batchId, `undo:${undoBatchId}`),
          userId: requestedBy,
        },
        batchId,
        undoBatchId,
        plan.data.items as never,
      );
      return;
    }
    let state = await liveBatch(cache, tenantId, batchId);
    if (!state) return;
    if (action === 'begin') {
      if (state.status !== 'scheduled') return;
      await cache.run(batchWorkerContext(tenantId, batchId, `begin:${batchId}`), batchId, {
        type: 'BeginScheduledBatch',
        data: { now: deps.clock().toISOString() },
      });
      return;
    }
    // advance: the next chunks of the round, in order, within the window.
    while (state.status === 'running' && state.chunksEnqueued < state.chunks.length && chunksInFlight(state) < CHUNKS_IN_FLIGHT) {
      const chunkIndex = state.chunksEnqueued;
      const commandId = deterministicUuid(`batch:${batchId}`, `enqueue:${state.round}:${chunkIndex}`);
      const result = await cache.run(batchWorkerContext(tenantId, batchId, commandId), batchId, {
        type: 'EnqueueChunk',
        data: { chunkIndex, now: deps.clock().toISOString() },
      });
      if (result.state.status === 'absent') return;
      state = result.state;
    }
  };
}

/** Told of every item run (metrics). */
export interface BatchItemObserver {
  itemFinished(outcome: 'succeeded' | 'failed', seconds: number): void;
}

/** Runs the items of a chunk with `concurrency` lanes; see the top. */
export function batchItemsWorker(
  deps: TemplateCommandDeps,
  cache: BatchStreamCache = batchWorkerCache(deps),
  observer?: BatchItemObserver,
): JobHandler {
  return async (job: Job) => {
    const { batchId, tenantId, round, indexes } = job.payload as {
      batchId: string;
      tenantId: string;
      round: number;
      indexes: number[];
    };
    const { state, items } = await cache.load(tenantId, batchId);
    if (state.status === 'absent' || state.round !== round) return; // a job of an earlier round: its items were re-chunked
    const queued = indexes.filter((index) => itemAt(state.items, index)?.status === 'queued');
    if (queued.length === 0) return;
    const context = () => batchWorkerContext(tenantId, batchId, randomUUID());
    const now = () => deps.clock().toISOString();
    const withdraw = (indexes: number[]) =>
      cache.run(context(), batchId, {
        type: 'WithdrawQueuedItems',
        data: { indexes, now: now() },
      });
    if (state.status === 'cancelling') {
      await withdraw(queued);
      return;
    }
    if (state.status !== 'running') return;

    const { concurrency, maxAttempts } = state.options;
    let next = 0;
    let stopped = false;
    let buffer: ItemOutcomeReport[] = [];
    let pendingRetry = false;
    let appending: Promise<void> = Promise.resolve();
    let lastAppend = performance.now();
    const append = () => {
      const outcomes = buffer;
      buffer = [];
      lastAppend = performance.now();
      appending = appending.then(async () => {
        if (outcomes.length === 0) return;
        const result = await cache.run(context(), batchId, {
          type: 'RecordItemOutcomes',
          data: { outcomes, now: now() },
        });
        if (result.state.status === 'cancelling' || result.state.status === 'cancelled') stopped = true;
      });
      return appending;
    };
    const lane = async () => {
      while (!stopped && next < queued.length) {
        const index = queued[next++]!;
        const record = itemAt(state.items, index)!;
        const started = performance.now();
        const outcome: ItemOutcome = await runBatchItem(deps, {
          batchId,
          tenantId,
          requestedBy: state.requestedBy,
          index,
          item: items[index]!,
          runAgainstRevision: record.runAgainstRevision,
        });
        observer?.itemFinished(outcome.outcome, (performance.now() - started) / 1000);
        if (outcome.outcome === 'failed' && outcome.retryable && job.attempt < maxAttempts) pendingRetry = true;
        buffer.push({ ...outcome, attempt: job.attempt } as ItemOutcomeReport);
        const due = buffer.length >= OUTCOMES_PER_APPEND.min && performance.now() - lastAppend >= OUTCOME_FLUSH_MS;
        if (due || buffer.length >= OUTCOMES_PER_APPEND.max) await append();
        // Let the event loop breathe between items: on the embedded database every query resolves on this
        // thread, and a chunk of items would otherwise hold off HTTP requests and timers until it ends.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queued.length) }, lane));
    await append();
    if (stopped) {
      const rest = queued.slice(next);
      if (rest.length > 0) await withdraw(rest);
      return;
    }
    if (pendingRetry) throw new Error(`batch ${batchId}: retryable item failures; the chunk runs again`);
  };
}
