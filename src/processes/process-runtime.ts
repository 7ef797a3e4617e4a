// Runs process managers: one checkpointed runner each (see subscriptions/checkpointed-runner.ts).
import type { SqlDatabase } from '../ports/sql-database.js';
import type { EventStore } from '../ports/event-store.js';
import { createRunner, type Runner, type RunnerLogger } from '../subscriptions/checkpointed-runner.js';
import { migrateCheckpoints } from '../subscriptions/checkpoints.js';
import { countParkedEvents, listParkedEvents, migrateParkedEvents, type ParkedEvent } from '../subscriptions/parked-events.js';
import type { JobQueue } from '../ports/job-queue.js';
import { processCommandContext, processJobId, type ProcessManager } from './process-manager.js';

export interface ProcessRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  states(): { name: string; state: string; lastError?: string }[];
  /** Events the process managers parked (see subscriptions/parked-events.ts), oldest first. */
  parked(limit?: number): Promise<ParkedEvent[]>;
  /** Parked events per process manager (every one listed, 0 included). */
  parkedCounts(): Promise<Map<string, number>>;
  /** Handles a parked event again; `unknown_process` for a name that is not one of `states()`. */
  retryParked(processName: string, eventId: string): Promise<'retried' | 'not_parked' | 'unknown_process'>;
}

/** Failures in a row after which a process manager parks an event and goes on (see RunnerOptions.parkAfter). */
export const DEFAULT_PARK_AFTER = 5;

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
  /** Attempts of one event before it is parked (default DEFAULT_PARK_AFTER). */
  parkAfter?: number;
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
        parkAfter: options.parkAfter ?? DEFAULT_PARK_AFTER,
        ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
      },
    );
  });
  return {
    async start() {
      await migrateCheckpoints(options.db);
      await migrateParkedEvents(options.db);
      for (const runner of runners) runner.start();
    },
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
    },
    parked: (limit) =>
      listParkedEvents(
        options.db,
        runners.map((runner) => runner.name),
        limit,
      ),
    async parkedCounts() {
      const counts = await countParkedEvents(
        options.db,
        runners.map((runner) => runner.name),
      );
      return new Map(runners.map((runner) => [runner.name, counts.get(runner.name) ?? 0]));
    },
    async retryParked(processName, eventId) {
      const runner = runners.find((candidate) => candidate.name === processName);
      return runner ? runner.retryParked(eventId) : 'unknown_process';
    },
    states: () =>
      runners.map((runner) => ({
        name: runner.name,
        state: runner.state(),
        ...(runner.lastError() ? { lastError: runner.lastError()! } : {}),
      })),
  };
}
