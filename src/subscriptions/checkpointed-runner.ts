// One checkpointed consumer of the $all log: holds a lease so only one instance runs it, subscribes from
// its stored checkpoint, and commits each batch together with the checkpoint. Projections and process
// managers are both consumers.
import type { Transaction } from 'kysely';
import type { Lease, SqlDatabase } from '../ports/sql-database.js';
import {
  comparePositions,
  type AllFilter,
  type EventStore,
  type Position,
  type RecordedEvent,
  type Subscription,
} from '../ports/event-store.js';
import { advanceCheckpoint, CheckpointMovedError, ensureCheckpoint, readCheckpoint } from './checkpoints.js';
import { findParkedEvent, parkEvent, unparkEvent } from './parked-events.js';

/** `rebuilding`: paused while a projection's rebuild swaps its tables in (see pause()). */
export type ConsumerState = 'starting' | 'running' | 'standby' | 'rebuilding' | 'failed' | 'stopped';

export interface Consumer {
  readonly name: string;
  readonly filter?: AllFilter;
  /** Applies a batch inside the checkpoint's transaction. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- consumers narrow to their own tables
  handleBatch(trx: Transaction<any>, events: readonly RecordedEvent[]): Promise<void>;
  /** After commit (cache invalidation, waking workers); failures are logged only. */
  afterCommit?(events: readonly RecordedEvent[]): Promise<void>;
}

export interface RunnerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RunnerOptions {
  readonly db: SqlDatabase;
  readonly eventStore: EventStore;
  readonly batchSize: number;
  readonly leaseRetryMs: number;
  readonly logger: RunnerLogger;
  readonly onCommitted?: (name: string, events: number, checkpoint: Position) => void;
  /** The wait before retrying after `consecutiveFailures` failed batches in a row (tests shorten it). */
  readonly retryDelayMs?: (consecutiveFailures: number) => number;
  /**
   * Process managers: after a failed batch the runner handles its events one at a time, and an event that
   * fails this many times in a row is parked (parked-events.ts) in the transaction that moves the
   * checkpoint past it, so the consumer goes on with the others. Absent (projections): a failing batch is
   * retried for ever, since a read model that skipped an event would be wrong.
   */
  readonly parkAfter?: number;
}

export interface Runner {
  readonly name: string;
  state(): ConsumerState;
  lastError(): string | undefined;
  start(): void;
  /** Stops after the current batch and gives the lease back. */
  stop(): Promise<void>;
  /** Stops consuming (keeping nothing locked) until resume(); used around a rebuild's swap. */
  pause(): Promise<void>;
  resume(): void;
  /**
   * Handles a parked event again and, if that succeeds, unparks it in the same transaction. `not_parked`
   * when no such event is parked; a handler that still fails throws (the event stays parked).
   */
  retryParked(eventId: string): Promise<'retried' | 'not_parked'>;
}

const MAX_BACKOFF_MS = 30_000;

/** 0.5 s, 1 s, 2 s … at most 30 s: grows only while batches keep failing one after another. */
export const defaultRetryDelayMs = (consecutiveFailures: number) => Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(consecutiveFailures, 10));

export function createRunner(consumer: Consumer, options: RunnerOptions): Runner {
  let state: ConsumerState = 'stopped';
  let lastError: string | undefined;
  let wanted = false; // should be running (not stopped, not paused)
  let loop: Promise<void> | undefined;
  let current: { subscription?: Subscription; lease?: Lease } = {};
  let wake: (() => void) | undefined;
  // Failed batches in a row. A committed batch ends the streak: the next failure waits the shortest delay.
  let failures = 0;
  // With parkAfter: failures in a row of each event handled on its own (after a failed batch).
  const eventFailures = new Map<string, number>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function consume(lease: Lease): Promise<void> {
    let checkpoint = await readCheckpoint(options.db, consumer.name);
    const subscription = options.eventStore.subscribeToAll({
      after: checkpoint,
      batchSize: options.batchSize,
      ...(consumer.filter ? { filter: consumer.filter } : {}),
      // The subscription reads again by itself (PostgreSQL, PGlite): logged, not a failed batch.
      onReadError: (error, retryInMs) =>
        options.logger.warn({ err: error, consumer: consumer.name, retryInMs }, 'reading the event log failed; retrying'),
      onBatch: async (events, next) => {
        // After a failed batch, find the event that fails by handling them one at a time.
        const alone = options.parkAfter !== undefined && failures > 0;
        if (alone) for (const event of events) checkpoint = await handleAlone(event, checkpoint);
        // Alone, each event was committed (and afterCommit called) on its own: what is left is the move to `next`.
        const batch = alone ? [] : events;
        if (batch.length > 0 || comparePositions(checkpoint, next) < 0) {
          await options.db.kysely.transaction().execute(async (trx) => {
            await advanceCheckpoint(trx, consumer.name, checkpoint, next);
            if (batch.length > 0) await consumer.handleBatch(trx, batch);
          });
        }
        checkpoint = next;
        lastError = undefined;
        failures = 0;
        // Cache invalidation first, then the local wake-up of read-your-writes waiters.
        if (batch.length > 0 && consumer.afterCommit) {
          await consumer
            .afterCommit(batch)
            .catch((error: unknown) => options.logger.warn({ err: error, consumer: consumer.name }, 'afterCommit failed'));
        }
        options.onCommitted?.(consumer.name, events.length, next);
      },
    });
    current = { subscription, lease };
    // A stop that arrived while we were subscribing found nothing to stop yet.
    if (!wanted) await subscription.stop();
    let released = false;
    const lost = lease.lost.then((error) => {
      if (released) return;
      options.logger.warn({ consumer: consumer.name, err: error }, 'lease lost; stopping');
      return subscription.stop();
    });
    lost.catch(() => undefined);
    try {
      await subscription.done;
    } finally {
      released = true;
    }
  }

  /** One event in its own transaction; parks it once it has failed `parkAfter` times in a row. */
  async function handleAlone(event: RecordedEvent, from: Position): Promise<Position> {
    try {
      await options.db.kysely.transaction().execute(async (trx) => {
        await advanceCheckpoint(trx, consumer.name, from, event.position);
        await consumer.handleBatch(trx, [event]);
      });
      eventFailures.delete(event.id);
    } catch (error) {
      if (error instanceof CheckpointMovedError) throw error;
      const attempts = (eventFailures.get(event.id) ?? 0) + 1;
      eventFailures.set(event.id, attempts);
      if (attempts < options.parkAfter!) throw error;
      await options.db.kysely.transaction().execute(async (trx) => {
        await advanceCheckpoint(trx, consumer.name, from, event.position);
        await parkEvent(trx, consumer.name, event, attempts, error);
      });
      eventFailures.delete(event.id);
      options.logger.error(
        { err: error, consumer: consumer.name, eventId: event.id, eventType: event.type, streamId: event.streamId, attempts },
        'event parked after failing every attempt; the consumer goes on with the next ones',
      );
      return event.position;
    }
    if (consumer.afterCommit)
      await consumer
        .afterCommit([event])
        .catch((error: unknown) => options.logger.warn({ err: error, consumer: consumer.name }, 'afterCommit failed'));
    return event.position;
  }

  async function retryParked(eventId: string): Promise<'retried' | 'not_parked'> {
    const parked = await findParkedEvent(options.db, consumer.name, eventId);
    if (!parked) return 'not_parked';
    const [event] = await options.eventStore.readStream(parked.streamId, { fromRevision: parked.streamRevision, maxCount: 1 });
    if (!event || event.id !== eventId) throw new Error(`parked event ${eventId} is no longer in stream ${parked.streamId}`);
    let unparked = false;
    await options.db.kysely.transaction().execute(async (trx) => {
      unparked = await unparkEvent(trx, consumer.name, eventId);
      if (unparked) await consumer.handleBatch(trx, [event]);
    });
    if (!unparked) return 'not_parked'; // retried by someone else meanwhile
    await consumer
      .afterCommit?.([event])
      .catch((error: unknown) => options.logger.warn({ err: error, consumer: consumer.name }, 'afterCommit failed'));
    return 'retried';
  }

  async function run(): Promise<void> {
    failures = 0;
    await ensureCheckpoint(options.db, consumer.name);
    while (wanted) {
      let lease: Lease | undefined;
      try {
        lease = await options.db.tryAcquireLease(`consumer:${consumer.name}`);
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (!lease) {
        state = 'standby';
        if (wanted) await sleep(options.leaseRetryMs);
        continue;
      }
      if (!wanted) {
        await lease.release();
        break;
      }
      state = 'running';
      try {
        await consume(lease);
        failures = 0;
      } catch (error) {
        if (error instanceof CheckpointMovedError) {
          options.logger.info({ consumer: consumer.name }, error.message);
        } else {
          failures++;
          state = 'failed';
          lastError = (error as Error).message;
          options.logger.error({ err: error, consumer: consumer.name, failures }, 'batch failed; rolled back, retrying');
        }
      } finally {
        current = {};
        await lease.release().catch(() => undefined);
      }
      if (wanted && failures > 0) await sleep((options.retryDelayMs ?? defaultRetryDelayMs)(failures));
    }
    state = 'stopped';
  }

  async function halt(): Promise<void> {
    wanted = false;
    wake?.();
    await current.subscription?.stop();
    await loop;
    loop = undefined;
  }

  return {
    name: consumer.name,
    state: () => state,
    lastError: () => lastError,
    start() {
      if (loop) return;
      wanted = true;
      state = 'starting';
      loop = run();
    },
    stop: halt,
    async pause() {
      await halt();
      state = 'rebuilding';
    },
    resume() {
      if (loop) return;
      wanted = true;
      loop = run();
    },
    retryParked,
  };
}
