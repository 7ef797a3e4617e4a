// Runs process managers: one checkpointed runner each (see subscriptions/checkpointed-runner.ts).
import type { SqlDatabase } from '../ports/sql-database.js';
import type { EventStore } from '../ports/event-store.js';
import { createRunner, type Runner, type RunnerLogger } from '../subscriptions/checkpointed-runner.js';
import { migrateCheckpoints } from '../subscriptions/checkpoints.js';
import type { JobQueue } from '../ports/job-queue.js';
import { processCommandContext, processJobId, type ProcessManager } from './process-manager.js';

export interface ProcessRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  states(): { name: string; state: string; lastError?: string }[];
}

export function createProcessRuntime(options: {
  db: SqlDatabase;
  eventStore: EventStore;
  queue: JobQueue;
  processes: readonly ProcessManager[];
  logger?: RunnerLogger;
  batchSize?: number;
  leaseRetryMs?: number;
  /** Backoff after failed batches (default: 0.5 s doubling to 30 s); tests shorten it. */
  retryDelayMs?: (consecutiveFailures: number) => number;
}): ProcessRuntime {
  const logger = options.logger ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
  const runners: Runner[] = options.processes.map((process) => {
    // The queues this batch enqueued into: their workers are woken once the checkpoint's commit makes the
    // jobs visible, instead of finding them at their next poll.
    const enqueuedInto = new Set<string>();
    return createRunner(
      {
        name: `process_${process.name}`,
        ...(process.filter ? { filter: process.filter } : {}),
        async handleBatch(trx, events) {
          enqueuedInto.clear();
          for (const event of events) {
            await process.handle(event, {
              // Inside the checkpoint's transaction: the SQL queue records the job atomically with it; BullMQ
              // dedupes the job id if the batch is delivered again after a failed commit.
              enqueue: (queue, payload, enqueueOptions = {}) => {
                const { key, ...rest } = enqueueOptions;
                enqueuedInto.add(queue);
                return options.queue.enqueue(queue, processJobId(process.name, event, key), payload, { ...rest, transaction: trx });
              },
              commandContext: (key) => processCommandContext(process.name, event, key),
            });
          }
        },
        async afterCommit() {
          for (const queue of enqueuedInto) options.queue.jobsCommitted?.(queue);
          enqueuedInto.clear();
        },
      },
      {
        db: options.db,
        eventStore: options.eventStore,
        batchSize: options.batchSize ?? 100,
        leaseRetryMs: options.leaseRetryMs ?? 1000,
        logger,
        ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
      },
    );
  });
  return {
    async start() {
      await migrateCheckpoints(options.db);
      for (const runner of runners) runner.start();
    },
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
    },
    states: () =>
      runners.map((runner) => ({
        name: runner.name,
        state: runner.state(),
        ...(runner.lastError() ? { lastError: runner.lastError()! } : {}),
      })),
  };
}
