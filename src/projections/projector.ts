import type { Kysely } from 'kysely';
import type { AllFilter, Position, RecordedEvent } from '../ports/event-store.js';
import type { ConsumerState } from '../subscriptions/checkpointed-runner.js';

/**
 * A projector owns one Postgres schema (`rm_<name>`) of read-model tables. It applies batches of events
 * inside the engine's transaction, which also stores its checkpoint: exactly-once effect.
 */
export interface Projector {
  /** Lowercase letters, digits and underscores; also names the schema. */
  readonly name: string;
  /** Only these events are delivered (the checkpoint still advances past the others). */
  readonly filter?: AllFilter;
  /** Creates the tables in `schema` (the live one at first start, a fresh one for a rebuild). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DDL runs before table types exist
  createSchema(db: Kysely<any>, schema: string): Promise<void>;
  /** Applies a batch. `db` is the engine's transaction, already scoped with withSchema(schema). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each projector narrows it to its tables
  apply(db: Kysely<any>, events: readonly RecordedEvent[]): Promise<void>;
  /** After the batch committed (cache invalidation); failures are logged, never retried into the model. */
  afterCommit?(events: readonly RecordedEvent[]): Promise<void>;
  /** After a rebuild swapped its tables in (drop caches built from the old ones); failures are logged. */
  afterRebuild?(): Promise<void>;
}

export const liveSchema = (projectorName: string) => `rm_${projectorName}`;

/** A projection is one checkpointed consumer: its state is its runner's. */
export type ProjectionState = ConsumerState;

export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  readonly checkpoint: Position;
  readonly head: Position;
  /** Events in the log after the checkpoint (all types, so 0 only when fully caught up). */
  readonly eventsBehind: number;
  /** Age of the oldest event not yet projected; 0 when caught up. */
  readonly secondsBehind: number;
  readonly lastError?: string;
  readonly rebuild?: RebuildProgress;
}

/** A rebuild (replay) of one projection into fresh tables: running, or how the last one on this instance ended. */
export interface RebuildProgress {
  readonly state: 'running' | 'swapped' | 'failed';
  readonly startedAt: Date;
  readonly finishedAt?: Date;
  /** Events after this position are replayed (always START: a partial replay is refused). */
  readonly from: Position;
  /** How far the fresh tables have been filled. */
  readonly checkpoint: Position;
  readonly eventsReplayed: number;
  readonly error?: string;
}

export class ProjectionTimeoutError extends Error {
  override readonly name = 'ProjectionTimeoutError';
  constructor(
    readonly position: Position,
    readonly timeoutMs: number,
    readonly lagging: readonly string[],
  ) {
    super(`projections ${lagging.join(', ')} did not reach the requested position within ${timeoutMs} ms`);
  }
}

export class RebuildInProgressError extends Error {
  override readonly name = 'RebuildInProgressError';
  constructor(readonly projection: string) {
    super(`projection ${projection} is already rebuilding`);
  }
}

export class UnknownProjectionError extends Error {
  override readonly name = 'UnknownProjectionError';
  constructor(readonly projection: string) {
    super(`no projection named ${projection}`);
  }
}

/**
 * A replay of only the events after a position would need the read model as it stood at that position,
 * which is not kept: into fresh (empty) tables it would swap in a read model missing everything before it.
 */
export class PartialReplayError extends Error {
  override readonly name = 'PartialReplayError';
  constructor(readonly projection: string) {
    super(
      `a replay of ${projection} from a position is refused: the read model as it stood there is not kept, so the ` +
        'replayed tables would lack every event before it; replay from position 0 (omit from) instead',
    );
  }
}

export interface ProjectionEngine {
  /** Starts a runner per projector: it takes the projector's lease or waits in standby for it. */
  start(): Promise<void>;
  /** Stops runners after their current batch and releases leases. */
  stop(): Promise<void>;
  /** Resolves once the named projectors (default: all) have checkpoints at or past `position`, reading
   * the shared checkpoint table so it works on any instance; rejects with ProjectionTimeoutError. */
  waitFor(position: Position, options: { timeoutMs: number; projections?: readonly string[] }): Promise<void>;
  status(): Promise<ProjectionStatus[]>;
  /** Rebuilds into a fresh schema from position 0, then swaps it in atomically. Resolves when swapped.
   * Throws RebuildInProgressError if one is running, UnknownProjectionError for an unknown name, and
   * PartialReplayError for a `from` other than START (before anything is touched). */
  rebuild(name: string, options?: { from?: Position }): Promise<void>;
  /** Resolves as soon as this instance holds the projection's rebuild lock (database-wide), with the
   * rebuild running in the background; throws RebuildInProgressError if any instance is rebuilding it. */
  startRebuild(name: string, options?: { from?: Position }): Promise<{ finished: Promise<void> }>;
  /** The running rebuild of `name` on this instance, else the last finished one here (undefined: none since
   * this instance started). Throws UnknownProjectionError for an unknown name. */
  rebuildProgress(name: string): RebuildProgress | undefined;
}
