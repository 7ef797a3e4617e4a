// Runs every projector as a checkpointed consumer, answers lag and read-your-writes questions from the
// shared checkpoint table, and rebuilds a projection into fresh tables that are swapped in atomically.
import { EventEmitter } from 'node:events';
import { sql, type Transaction } from 'kysely';
import type { Lease, SqlDatabase } from '../ports/sql-database.js';
import { START, comparePositions, type EventStore, type Position } from '../ports/event-store.js';
import { createRunner, type Runner, type RunnerLogger } from '../subscriptions/checkpointed-runner.js';
import { lockCheckpoint, migrateCheckpoints, readCheckpoints, setCheckpoint } from '../subscriptions/checkpoints.js';
import {
  PartialReplayError,
  ProjectionTimeoutError,
  type RebuildProgress,
  RebuildInProgressError,
  UnknownProjectionError,
  liveSchema,
  type ProjectionEngine,
  type ProjectionStatus,
  type Projector,
} from './projector.js';

/** Counts events after a position (bounded) and the age of the first; cheaper than reading them. */
export type LagCounter = (after: Position) => Promise<{ events: number; oldestRecordedAt?: Date }>;

export interface ProjectionEngineOptions {
  readonly db: SqlDatabase;
  readonly eventStore: EventStore;
  readonly projectors: readonly Projector[];
  readonly batchSize?: number;
  readonly leaseRetryMs?: number;
  readonly logger?: RunnerLogger;
  readonly lagCounter?: LagCounter;
  readonly onBatchApplied?: (name: string, events: number, checkpoint: Position) => void;
  /** Backoff after failed batches (default: 0.5 s doubling to 30 s); tests shorten it. */
  readonly retryDelayMs?: (consecutiveFailures: number) => number;
}

/** A running rebuild's progress, updated in place as pages are applied. */
type RebuildRun = { -readonly [K in keyof RebuildProgress]: RebuildProgress[K] };

/** The swap's catch-up did not reach the live checkpoint; the swap transaction is rolled back. */
class SwapBehindError extends Error {
  constructor(projection: string) {
    super(`the rebuilt ${projection} is still behind the live checkpoint`);
  }
}

const silent: RunnerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
export const rebuildSchema = (name: string) => `${liveSchema(name)}__rebuild`;
/** One rebuild of a projection at a time across every instance on the database. */
export const rebuildLockKey = (name: string) => `rebuild:${name}`;

export function createProjectionEngine(options: ProjectionEngineOptions): ProjectionEngine {
  const { db, eventStore } = options;
  const batchSize = options.batchSize ?? 1000;
  const logger = options.logger ?? silent;
  const committed = new EventEmitter();
  committed.setMaxListeners(0);
  const projectors = new Map(options.projectors.map((p) => [p.name, p]));
  const rebuilds = new Map<string, RebuildRun>();
  // The last finished rebuild of each projection on this instance (progress streams report its outcome).
  const finishedRebuilds = new Map<string, RebuildProgress>();

  const runners = new Map<string, Runner>(
    options.projectors.map((projector) => [
      projector.name,
      createRunner(
        {
          name: projector.name,
          ...(projector.filter ? { filter: projector.filter } : {}),
          handleBatch: (trx, events) => projector.apply(trx.withSchema(liveSchema(projector.name)), events),
          ...(projector.afterCommit ? { afterCommit: (events) => projector.afterCommit!(events) } : {}),
        },
        {
          db,
          eventStore,
          batchSize,
          leaseRetryMs: options.leaseRetryMs ?? 1000,
          logger,
          ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
          onCommitted: (name, events, checkpoint) => {
            options.onBatchApplied?.(name, events, checkpoint);
            committed.emit('committed');
          },
        },
      ),
    ]),
  );

  const lagCounter: LagCounter =
    options.lagCounter ??
    (async (after) => {
      const page = await eventStore.readAll({ after, maxCount: 1000 });
      return { events: page.events.length, ...(page.events[0] ? { oldestRecordedAt: page.events[0].recordedAt } : {}) };
    });

  async function createLiveSchemas(): Promise<void> {
    for (const projector of projectors.values()) {
      await projector.createSchema(db.kysely, liveSchema(projector.name));
    }
  }

  async function waitFor(
    position: Position,
    { timeoutMs, projections }: { timeoutMs: number; projections?: readonly string[] },
  ): Promise<void> {
    const names = projections ?? [...projectors.keys()];
    for (const name of names) if (!projectors.has(name)) throw new UnknownProjectionError(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const checkpoints = await readCheckpoints(db, names);
      const lagging = names.filter((name) => comparePositions(checkpoints.get(name) ?? START, position) < 0);
      if (lagging.length === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new ProjectionTimeoutError(position, timeoutMs, lagging);
      // Woken by a local commit at once; other instances' commits are seen by polling.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 25));
        function done() {
          clearTimeout(timer);
          committed.off('committed', done);
          resolve();
        }
        committed.once('committed', done);
      });
    }
  }

  async function status(): Promise<ProjectionStatus[]> {
    const names = [...projectors.keys()];
    const [checkpoints, head] = await Promise.all([readCheckpoints(db, names), eventStore.headPosition()]);
    return Promise.all(
      names.map(async (name) => {
        const runner = runners.get(name)!;
        const checkpoint = checkpoints.get(name) ?? START;
        const behind = comparePositions(checkpoint, head) < 0 ? await lagCounter(checkpoint) : { events: 0 };
        const rebuild = rebuilds.get(name);
        const lastError = runner.lastError();
        return {
          name,
          state: rebuild ? 'rebuilding' : runner.state(),
          checkpoint,
          head,
          eventsBehind: behind.events,
          secondsBehind: behind.oldestRecordedAt ? Math.max(0, (Date.now() - behind.oldestRecordedAt.getTime()) / 1000) : 0,
          ...(lastError ? { lastError } : {}),
          ...(rebuild ? { rebuild } : {}),
        };
      }),
    );
  }

  /**
   * Reads from `after` to the end of the log into `schema`, one transaction per page. The next page is
   * read while the current one is applied, so reading and writing overlap; memory holds two pages at most.
   * `within` applies every page in that one transaction instead (the swap's catch-up).
   */
  async function replayInto(
    projector: Projector,
    schema: string,
    after: Position,
    progress: { checkpoint: Position; eventsReplayed?: number },
    within?: Transaction<unknown>,
  ): Promise<Position> {
    const read = (from: Position) =>
      eventStore.readAll({ after: from, maxCount: batchSize, ...(projector.filter ? { filter: projector.filter } : {}) });
    let page = await read(after);
    for (;;) {
      const next = page.isEnd ? undefined : read(page.lastPosition);
      next?.catch(() => undefined); // observed below; never an unhandled rejection meanwhile
      if (page.events.length > 0) {
        const events = page.events;
        if (within) await projector.apply(within.withSchema(schema), events);
        else await db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(schema), events));
      }
      progress.checkpoint = page.lastPosition;
      if (progress.eventsReplayed !== undefined) progress.eventsReplayed += page.events.length;
      if (!next) return page.lastPosition;
      page = await next;
    }
  }

  /**
   * Exchanges the schemas and sets the checkpoint in one transaction, or answers false when the live
   * projection has moved past `checkpoint` and the caller must catch up first. The swap never lowers the
   * checkpoint: that would drop events from the read model that readers were already told were there.
   */
  async function swapIn(
    projector: Projector,
    target: string,
    rebuilt: Position,
    progress: { checkpoint: Position; eventsReplayed?: number },
  ): Promise<Position | undefined> {
    const name = projector.name;
    return db.kysely.transaction().execute(async (trx) => {
      // Locking the checkpoint row makes a runner on another instance (one that holds the lease) wait,
      // then fail its checkpoint guard and resume from the rebuilt checkpoint, which matches the new tables.
      const live = await lockCheckpoint(trx, name);
      let checkpoint = rebuilt;
      if (comparePositions(live, checkpoint) > 0) {
        // PGlite has one session, held by this transaction: the log cannot be read until it ends.
        if (db.dialect === 'pglite') return undefined;
        // Elsewhere the log is read on other connections while the row lock holds the live runner still.
        checkpoint = await replayInto(projector, target, checkpoint, progress, trx);
        // Never expected (the runner only saw events this read sees too), but never swap below it: roll
        // the catch-up back with the swap and try again.
        if (comparePositions(live, checkpoint) > 0) throw new SwapBehindError(name);
      }
      await sql`DROP SCHEMA IF EXISTS ${sql.id(liveSchema(name))} CASCADE`.execute(trx);
      await sql`ALTER SCHEMA ${sql.id(target)} RENAME TO ${sql.id(liveSchema(name))}`.execute(trx);
      await setCheckpoint(trx, name, checkpoint);
      return checkpoint;
    });
  }

  async function runRebuild(projector: Projector, progress: RebuildRun, lock: Lease): Promise<void> {
    const name = projector.name;
    const runner = runners.get(name)!;
    const target = rebuildSchema(name);
    let lost: Error | undefined;
    void lock.lost.then((error) => (lost = error));
    const stillHeld = () => {
      // Without the lock another instance may start the same rebuild on the same schema: stop here.
      if (lost) throw new Error(`rebuild of ${name} lost its lock: ${lost.message}`);
    };
    let paused = false;
    try {
      // A leftover from a crashed rebuild is thrown away: rebuilds always start from empty tables.
      await sql`DROP SCHEMA IF EXISTS ${sql.id(target)} CASCADE`.execute(db.kysely);
      await projector.createSchema(db.kysely, target);
      // The long part runs beside the live projection; readers keep the live tables.
      let checkpoint = await replayInto(projector, target, progress.from, progress);
      // The swap: stop the local live runner so the live checkpoint stands still (unless another instance
      // holds the lease and keeps projecting), catch up the last events, then swap.
      await runner.pause();
      paused = true;
      for (;;) {
        stillHeld();
        checkpoint = await replayInto(projector, target, checkpoint, progress);
        stillHeld();
        const swapped = await swapIn(projector, target, checkpoint, progress).catch((error: unknown) => {
          if (error instanceof SwapBehindError) return undefined;
          throw error;
        });
        if (swapped) break;
        logger.info({ projection: name }, 'the live projection moved past the rebuild; catching up before the swap');
      }
      // Answers cached from the old tables would outlive the swap (#7.13): the projector drops them.
      await projector
        .afterRebuild?.()
        .catch((error: unknown) => logger.error({ err: error, projection: name }, 'dropping the cache after a rebuild failed'));
      logger.info({ projection: name, seconds: (Date.now() - progress.startedAt.getTime()) / 1000 }, 'projection rebuilt and swapped in');
      finishedRebuilds.set(name, { ...progress, state: 'swapped', finishedAt: new Date() });
    } catch (error) {
      finishedRebuilds.set(name, { ...progress, state: 'failed', finishedAt: new Date(), error: (error as Error).message });
      throw error;
    } finally {
      rebuilds.delete(name);
      await lock.release().catch(() => undefined);
      if (paused) runner.resume();
    }
  }

  /**
   * Takes the projection's rebuild lock (database-wide: an advisory lock on PostgreSQL) or refuses with
   * RebuildInProgressError, then runs the rebuild in the background while holding the lock throughout.
   */
  async function startRebuild(name: string, options: { from?: Position } = {}): Promise<{ finished: Promise<void> }> {
    const projector = projectors.get(name);
    if (!projector) throw new UnknownProjectionError(name);
    // Claimed locally before the first await, so two calls on this instance cannot both pass.
    if (rebuilds.has(name)) throw new RebuildInProgressError(name);
    const from = options.from ?? START;
    // Fresh tables hold nothing before `from`: swapping them in would drop those rows from the read model.
    if (comparePositions(from, START) !== 0) throw new PartialReplayError(name);
    const progress: RebuildRun = { state: 'running', startedAt: new Date(), from, checkpoint: from, eventsReplayed: 0 };
    rebuilds.set(name, progress);
    let lock: Lease | undefined;
    try {
      lock = await db.tryAcquireLease(rebuildLockKey(name));
    } finally {
      if (!lock) rebuilds.delete(name);
    }
    if (!lock) throw new RebuildInProgressError(name);
    return { finished: runRebuild(projector, progress, lock) };
  }

  return {
    async start() {
      await migrateCheckpoints(db);
      await createLiveSchemas();
      for (const runner of runners.values()) runner.start();
    },
    async stop() {
      await Promise.all([...runners.values()].map((runner) => runner.stop()));
    },
    waitFor,
    status,
    startRebuild,
    rebuild: async (name, options) => (await startRebuild(name, options)).finished,
    rebuildProgress: (name) => {
      if (!projectors.has(name)) throw new UnknownProjectionError(name);
      const running = rebuilds.get(name);
      return running ? { ...running } : finishedRebuilds.get(name);
    },
  };
}
