// The event store port. Pure types and errors: adapters (PostgreSQL, PGlite, EventStoreDB) implement it,
// commands, projections and processes depend on it.
import type { JsonObject } from '../domain/json.js';

/** A global position in the `$all` log. Ordered by `commit`, then `prepare` (EventStoreDB's own shape;
 * on PostgreSQL `commit` is the writing transaction id and `prepare` the event's sequence number). */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export const START: Position = Object.freeze({ commit: 0n, prepare: 0n });

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** Positions cross HTTP and logs as `"<commit>.<prepare>"`: opaque to clients, exact for bigints. */
export function formatPosition(p: Position): string {
  return `${p.commit}.${p.prepare}`;
}

export function parsePosition(text: string): Position | undefined {
  const match = /^(\d{1,20})\.(\d{1,20})$/.exec(text);
  if (!match) return undefined;
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}

/** What a caller appends. `id` makes the append idempotent: the same ids on the same stream are a no-op. */
export interface EventToAppend {
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  readonly recordedAt: Date;
}

/** `no_stream`: the stream must not exist (or be soft-deleted); `stream_exists`: it must exist;
 * `any`: no check; a bigint: the revision of the stream's last event must be exactly that. */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Revision of the last event written (or of the original append when idempotent). */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last event written. */
  readonly position: Position;
  /** True when every event was already in the stream and nothing was written (a repeated append). */
  readonly idempotent?: boolean;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive. Defaults to the start (forwards) or the end (backwards). */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface AllFilter {
  /** Keep events whose type is one of these. */
  readonly eventTypes?: readonly string[];
  /** Keep events whose stream category (the stream id up to its first '-') is one of these. */
  readonly categories?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Defaults to the beginning. */
  readonly after?: Position;
  readonly maxCount?: number;
  readonly filter?: AllFilter;
}

export interface ReadAllResult {
  readonly events: RecordedEvent[];
  /** Position to continue from. With a filter it may be past the last returned event (events were scanned
   * but filtered out), so a filtered reader never rescans the same range. */
  readonly lastPosition: Position;
  readonly isEnd: boolean;
}

export interface Subscription {
  /** Stops the subscription; resolves once the handler will not be called again. */
  stop(): Promise<void>;
  /** Resolves when the subscription is stopped. Rejects with the error that ended it: on every store,
   * `onBatch` throwing; on EventStoreDB also a dropped server subscription (PostgreSQL and PGlite retry a
   * failed read instead, see `onReadError`). Whoever subscribes must watch it: nothing else says it ended. */
  readonly done: Promise<void>;
}

export interface SubscribeToAllOptions {
  readonly after?: Position;
  readonly filter?: AllFilter;
  readonly batchSize?: number;
  /**
   * Called with each batch, in strictly increasing global position. The next batch is read only after
   * the returned promise resolves. `checkpoint` is where to resume from (see ReadAllResult.lastPosition);
   * it is also reported with an empty batch when a filtered range was skipped, so checkpoints advance.
   */
  readonly onBatch: (events: RecordedEvent[], checkpoint: Position) => Promise<void>;
  /** Called once the subscription reaches the head of the log for the first time. */
  readonly onCaughtUp?: () => void;
  /**
   * A read of the log failed (a lost connection, a restarting server). On PostgreSQL and PGlite the
   * subscription does not end: it reads again from its checkpoint after `retryInMs` (50 ms, doubled per
   * failure in a row, at most 5 s) and reports each failure here, or to the store's logger without this hook.
   */
  readonly onReadError?: (error: unknown, retryInMs: number) => void;
}

export interface EventStore {
  append(streamId: string, events: readonly EventToAppend[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult>;
  /** Throws StreamNotFoundError when the stream does not exist or is soft-deleted. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  subscribeToAll(options: SubscribeToAllOptions): Subscription;
  /** The position of the newest readable event (START when the log is empty). */
  headPosition(): Promise<Position>;
  /** Which of `streamIds` hold a readable event (soft-deleted streams do not): one query where the store can,
   * so a batch of 10,000 creates checks its new ids without reading 10,000 streams. */
  existingStreams(streamIds: readonly string[]): Promise<Set<string>>;
  /** Soft delete: the stream reads as not found; appending again continues after its last revision. The
   * deleted events' ids stay spent: an append repeating any of them is an IdempotencyConflictError. */
  deleteStream(streamId: string, options: { expectedRevision: ExpectedRevision }): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'no_stream'. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

export class StreamNotFoundError extends Error {
  override readonly name = 'StreamNotFoundError';
  constructor(readonly streamId: string) {
    super(`stream ${streamId} not found`);
  }
}

/** A retry that is not a retry: some, not all, of the appended event ids were already in the stream
 * (`partial`), or some belong to events a soft delete has hidden (`deleted`: the append they came with can
 * be neither answered as done, its events no longer read, nor written again, ids being unique per stream). */
export class IdempotencyConflictError extends Error {
  override readonly name = 'IdempotencyConflictError';
  constructor(
    readonly streamId: string,
    readonly reason: 'partial' | 'deleted' = 'partial',
  ) {
    super(
      reason === 'partial'
        ? `stream ${streamId}: the append repeats some event ids but not all`
        : `stream ${streamId}: the append repeats ids of deleted events`,
    );
  }
}

/** An event carries text that no store keeps as written: a NUL character (PostgreSQL's text and jsonb
 * refuse it) or a lone UTF-16 surrogate (it has no UTF-8 form). Refused before any I/O, so it fails alone,
 * never the appends grouped with it. `path` names the value, e.g. `data.title` or `metadata.tags[2]`. */
export class InvalidEventError extends RangeError {
  override readonly name = 'InvalidEventError';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
    readonly path: string,
  ) {
    super(
      `stream ${JSON.stringify(streamId)}: event ${eventId}: ${path} holds a NUL character or a lone surrogate, which cannot be stored`,
    );
  }
}

export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
