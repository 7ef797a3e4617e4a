// The re-enqueue sweep: a batch's progress lives in its stream, its pending work in the job queue. When the
// queue loses its data (a Redis without persistence restarted, a FLUSHALL), the stream still says which
// work is due, and this sweep puts it back, with the very job ids the process manager used:
// - each enqueued chunk of the current round that still has a queued item → its item job again, with the
//   id derived from its BatchChunkEnqueued event (processJobId), so where the job still exists (waiting,
//   active, delayed for a retry, or kept completed) the enqueue is a no-op;
// - a running batch whose chunk window has room and chunks left → an 'advance' control job (its id names
//   the round and the chunk it would enqueue, and advancing is idempotent anyway);
// - a scheduled batch → its delayed 'begin' job, with the id derived from BatchPlanRecorded.
// Items stay exactly-once whatever runs twice: each is a template command with commandId batchId:itemIndex,
// and a worker runs only the items the batch still has queued.
import { BATCH_OPTION_LIMITS, itemAt, type LiveBatchState } from '../../domain/batches/index.js';
import { batchStreamId } from '../../domain/batches/batch-streams.js';
import type { BatchStreamCache } from '../../commands/batches/batch-stream-cache.js';
import type { EventStore, RecordedEvent } from '../../ports/event-store.js';
import type { JobQueue } from '../../ports/job-queue.js';
import type { BackgroundTask } from '../background-task.js';
import { processJobId } from '../process-manager.js';
import { BATCH_CONTROL_QUEUE, BATCH_ITEMS_QUEUE, BATCH_PROCESS, CHUNKS_IN_FLIGHT } from './batch-process.js';

export interface BatchRequeueDeps {
  readonly eventStore: Pick<EventStore, 'readStream'>;
  readonly queue: Pick<JobQueue, 'enqueue'>;
  readonly cache: BatchStreamCache;
  readonly clock: () => Date;
  /** Batches that may have queued work: scheduled, running, cancelling (read model; any tenant). */
  unfinishedBatches(): Promise<{ batchId: string; tenantId: string }[]>;
}

/** Chunks of the current round enqueued and still holding a queued item. */
function pendingChunks(state: LiveBatchState): number[] {
  const pending: number[] = [];
  for (let chunk = 0; chunk < state.chunksEnqueued; chunk++) {
    if ((state.chunks[chunk] ?? []).some((index) => itemAt(state.items, index)?.status === 'queued')) pending.push(chunk);
  }
  return pending;
}

const PAGE = 500;

/** The BatchChunkEnqueued events of `round` for `chunks`, read from the end of the stream (in-flight
 * chunks are the latest enqueued, so this reads little). */
async function chunkEvents(deps: BatchRequeueDeps, batchId: string, round: number, chunks: readonly number[]) {
  const wanted = new Set(chunks);
  const found: RecordedEvent[] = [];
  let from: bigint | undefined;
  while (wanted.size > 0) {
    const page = await deps.eventStore.readStream(batchStreamId(batchId), {
      direction: 'backwards',
      maxCount: PAGE,
      ...(from !== undefined ? { fromRevision: from } : {}),
    });
    for (const event of page) {
      if (event.type !== 'BatchChunkEnqueued' || event.data.round !== round) continue;
      if (wanted.delete(Number(event.data.chunkIndex))) found.push(event);
    }
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined || last.revision === 0n) break;
    from = last.revision - 1n;
  }
  return found;
}

/** Puts back the jobs one batch needs; returns how many enqueues it made (most are no-ops in Redis). */
export async function requeueBatch(deps: BatchRequeueDeps, tenantId: string, batchId: string): Promise<number> {
  const { state } = await deps.cache.load(tenantId, batchId);
  if (state.status === 'absent') return 0;
  let enqueued = 0;
  if (state.status === 'scheduled') {
    const [plan] = await deps.eventStore.readStream(batchStreamId(batchId), { maxCount: 1 });
    const at = state.options.scheduledAt;
    if (plan?.type === 'BatchPlanRecorded' && at !== null) {
      await deps.queue.enqueue(
        BATCH_CONTROL_QUEUE,
        processJobId(BATCH_PROCESS, plan),
        { action: 'begin', batchId, tenantId },
        { delayMs: Math.max(0, Date.parse(at) - deps.clock().getTime()), attempts: 10 },
      );
      enqueued++;
    }
    return enqueued;
  }
  if (state.status !== 'running' && state.status !== 'cancelling') return 0;
  const pending = pendingChunks(state);
  for (const event of await chunkEvents(deps, batchId, state.round, pending)) {
    const { round, chunkIndex, indexes, priority } = event.data as {
      round: number;
      chunkIndex: number;
      indexes: number[];
      priority: number;
    };
    await deps.queue.enqueue(
      BATCH_ITEMS_QUEUE,
      processJobId(BATCH_PROCESS, event),
      { batchId, tenantId, round, chunkIndex, indexes },
      { attempts: BATCH_OPTION_LIMITS.maxAttempts.max, priority, group: tenantId },
    );
    enqueued++;
  }
  if (state.status === 'running' && pending.length < CHUNKS_IN_FLIGHT && state.chunksEnqueued < state.chunks.length) {
    await deps.queue.enqueue(
      BATCH_CONTROL_QUEUE,
      `${BATCH_PROCESS}.requeue.${batchId}.${state.round}.${state.chunksEnqueued}`,
      { action: 'advance', batchId, tenantId },
      { attempts: 10 },
    );
    enqueued++;
  }
  return enqueued;
}

/** One pass over every unfinished batch; a batch that fails is left for the next pass. */
export async function requeueUnfinishedBatches(deps: BatchRequeueDeps, onError?: (error: unknown) => void): Promise<number> {
  let enqueued = 0;
  for (const { batchId, tenantId } of await deps.unfinishedBatches()) {
    try {
      enqueued += await requeueBatch(deps, tenantId, batchId);
    } catch (error) {
      onError?.(error);
    }
  }
  return enqueued;
}

/** The sweep every `intervalMs`, as a background task of the batches feature. */
export function batchRequeueSweep(
  deps: BatchRequeueDeps,
  options: { intervalMs: number; onError?: (error: unknown) => void },
): BackgroundTask {
  return {
    name: 'batch-requeue',
    start() {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> = Promise.resolve();
      const tick = () => {
        running = requeueUnfinishedBatches(deps, options.onError)
          .then(
            () => undefined,
            (error: unknown) => options.onError?.(error),
          )
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, options.intervalMs);
          });
      };
      timer = setTimeout(tick, options.intervalMs);
      return async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      };
    },
  };
}
