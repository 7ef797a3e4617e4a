// The generic command handler: load one stream, fold it, decide, append with the expected revision.
// Aggregates stay pure; this is the only place that knows about retries, idempotency and metadata.
import {
  IdempotencyConflictError,
  START,
  WrongExpectedRevisionError,
  streamCategory,
  type EventStore,
  type AppendResult,
  type EventToAppend,
  type Position,
  type RecordedEvent,
} from '../ports/event-store.js';
import type { JsonObject } from '../domain/json.js';
import type { Decider, DomainEvent } from '../domain/decider.js';
import { notFoundOf } from '../domain/not-found.js';
import { deterministicUuid } from './deterministic-uuid.js';
import { upcast, schemaVersionOf, type Upcasters } from './upcasters.js';
import { legacyStreamOf, readIfAny } from './stream-resolver.js';

export interface CommandContext {
  readonly tenantId: string;
  readonly userId: string;
  /** The idempotency key: the same command id on the same stream yields the first result again. */
  readonly commandId: string;
  readonly correlationId: string;
  /** The event or command that caused this one; defaults to the command id. */
  readonly causationId?: string;
}

export interface CommandDeps {
  readonly eventStore: EventStore;
  readonly clock: () => Date;
  readonly upcasters?: Upcasters;
  /** Reloads and decides again after a concurrency conflict at most this many times (default 3). */
  readonly maxRetries?: number;
}

/** An event the command wrote (or, for an idempotent replay, had written), with its id. */
export type AppendedEvent<Event extends DomainEvent = DomainEvent> = Event & { readonly id: string };

export interface CommandResult<State, Event extends DomainEvent = DomainEvent> {
  readonly streamId: string;
  /** Revision of the stream's last event after the command (-1 when the stream still does not exist). */
  readonly revision: bigint;
  /** Global position of the command's last event (or of the stream's last event when nothing changed). */
  readonly position: Position;
  readonly events: readonly AppendedEvent<Event>[];
  readonly state: State;
  /** True when the command id had already been handled and nothing new was appended. */
  readonly idempotent: boolean;
}

export interface CommandRequest<Command, State = unknown> {
  readonly streamId: string;
  readonly command: Command;
  readonly context: CommandContext;
  /** The caller's precondition (HTTP If-Match): a mismatch fails at once with no retry. */
  readonly expectedRevision?: bigint | 'no_stream';
  /** Who may read the stream (default: every event is the caller's tenant's); see loadAggregate. */
  readonly access?: StreamAccess<State>;
  /** Runs on the folded state before each decision (e.g. only the owner may change it); throws to refuse. */
  readonly authorize?: (state: State) => void;
  /**
   * The command creates the stream (a create with a fresh id): decide on the initial state and append with
   * `no_stream` straight away, skipping the read. A stream that exists already (a retry, or a clash) falls
   * back to the full path, which answers the retry or refuses as usual.
   */
  readonly expectNew?: boolean;
}

/**
 * Whether `tenantId` may read a stream, judged on its folded state. Aggregates that other tenants may
 * touch (a public template favorited by another tenant's user) carry events of several tenants, so the
 * default rule (every event is the caller's tenant's) does not fit them.
 */
export type StreamAccess<State> = (state: State, tenantId: string) => boolean;

export interface LoadedAggregate<State> {
  /** The stream that holds the aggregate: the one asked for, or its legacy global stream (stream-resolver.ts). */
  readonly streamId: string;
  readonly state: State;
  /** Revision of the last folded event; undefined when the stream does not exist (or, with `asOf`, had no
   * event yet at that moment). */
  readonly revision: bigint | undefined;
  /** The folded events, upcast to their current shapes. */
  readonly events: readonly RecordedEvent[];
}

const NO_REVISION = -1n;

/** Not found, whether missing or another tenant's: the two are the same error (domain/not-found.ts). */
export const notFound = (streamId: string) => notFoundOf(streamCategory(streamId));

/**
 * Folds a stream into state. Another tenant's stream reads as not found. A tenant-scoped stream name that
 * holds nothing falls back to the tenant's own legacy global stream (stream-resolver.ts), and the result
 * names the stream it read. `asOf` folds the stream's events up to the first one that occurred after that
 * moment (audit, "as of" queries): a prefix, so the result is a state the aggregate really had even if
 * clocks of different writers disagreed slightly.
 */
export async function loadAggregate<State, Event extends DomainEvent>(
  deps: Pick<CommandDeps, 'eventStore' | 'upcasters'>,
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  requestedStreamId: string,
  options: { tenantId: string; asOf?: Date; access?: StreamAccess<State> },
): Promise<LoadedAggregate<State>> {
  let recorded = await readIfAny(deps.eventStore, requestedStreamId);
  let streamId = requestedStreamId;
  if (recorded === undefined) {
    const legacy = await legacyStreamOf(deps.eventStore, requestedStreamId, options.tenantId);
    if (legacy !== undefined) [streamId, recorded] = [legacy, await readIfAny(deps.eventStore, legacy)];
  }
  if (recorded === undefined) return { streamId, state: decider.initialState(), revision: undefined, events: [] };
  if (!options.access && recorded.some((event) => event.metadata.tenantId !== options.tenantId)) throw notFound(streamId);
  const upcasted = recorded.map((event) => upcast(event, deps.upcasters));
  const fold = (events: readonly RecordedEvent[]) =>
    events.reduce((current, event) => decider.evolve(current, { type: event.type, data: event.data } as Event), decider.initialState());
  const asOf = options.asOf?.getTime();
  const cut = asOf === undefined ? -1 : upcasted.findIndex((event) => !(Date.parse(String(event.metadata.occurredAt)) <= asOf));
  const events = cut === -1 ? upcasted : upcasted.slice(0, cut);
  const state = fold(events);
  // Access is judged on the current state, also for an `asOf` read: a template made private since is
  // private now. Without a cut, the current state is the one just folded.
  if (options.access && !options.access(cut === -1 ? state : fold(upcasted), options.tenantId)) throw notFound(streamId);
  return { streamId, state, revision: events.at(-1)?.revision, events };
}

/**
 * Whether the loaded stream already holds events of this command (a retry). A command that checks rules
 * against other streams first goes straight to the handler then, which answers with the first run's
 * events: checking the rules again against today's state could refuse a command that in fact succeeded.
 */
export const alreadyHandled = (
  loaded: { readonly events: readonly RecordedEvent[] },
  context: Pick<CommandContext, 'commandId'>,
): boolean => loaded.events.some((event) => event.metadata.commandId === context.commandId);

/**
 * The caller's precondition (If-Match) on a stream already loaded. A command that writes to another stream
 * first (a name claim) checks it up front, so a stale request is refused before it writes anything.
 */
export function assertExpectedRevision(
  streamId: string,
  expected: bigint | 'no_stream' | undefined,
  loaded: { readonly revision: bigint | undefined },
): void {
  if (expected === undefined) return;
  const actual = loaded.revision ?? 'no_stream';
  if (expected !== actual) throw new WrongExpectedRevisionError(streamId, expected, actual);
}

/**
 * Load → fold → decide → append with the revision that was folded.
 * - Tenancy: another tenant's stream is RuleViolation `<category>.not_found`, as if missing.
 * - Precondition: `request.expectedRevision` (If-Match) that differs from the stream fails with
 *   WrongExpectedRevisionError, never retried. Without it, a conflicting append is decided again on fresh
 *   state, up to `deps.maxRetries` (3) times, then the WrongExpectedRevisionError is rethrown.
 * - Idempotency: a stream that already holds events of `context.commandId` answers with them
 *   (`idempotent: true`, `state` is the stream's current state) without deciding. Event ids derive from
 *   stream, command id and index, so two copies of one command racing past that check write once: the
 *   store treats the loser's append as a repeat (it then reads `idempotent: false` with the same revision).
 * - Nothing decided: no append; the result carries the current revision (-1 for no stream) and position.
 */
export async function handleCommand<State, Command, Event extends DomainEvent>(
  deps: CommandDeps,
  decider: Decider<State, Command, Event>,
  request: CommandRequest<Command, State>,
): Promise<CommandResult<State, Event>> {
  const { context } = request;
  const maxRetries = deps.maxRetries ?? 3;
  if (request.expectNew && request.expectedRevision === undefined) {
    const created = await createOptimistically(deps, decider, request);
    if (created) return created;
  }
  for (let attempt = 0; ; attempt++) {
    const loaded = await loadAggregate(deps, decider, request.streamId, {
      tenantId: context.tenantId,
      ...(request.access ? { access: request.access } : {}),
    });
    const streamId = loaded.streamId;

    const earlier = loaded.events.filter((event) => event.metadata.commandId === context.commandId);
    if (earlier.length > 0) {
      const last = earlier.at(-1)!;
      return {
        streamId,
        revision: last.revision,
        position: last.position,
        events: earlier.map(({ id, type, data }) => ({ id, type, data }) as AppendedEvent<Event>),
        state: loaded.state,
        idempotent: true,
      };
    }

    const actual = loaded.revision ?? 'no_stream';
    if (request.expectedRevision !== undefined && request.expectedRevision !== actual) {
      throw new WrongExpectedRevisionError(streamId, request.expectedRevision, actual);
    }

    request.authorize?.(loaded.state);
    const decided = decider.decide(request.command, loaded.state);
    if (decided.length === 0) {
      return {
        streamId,
        revision: loaded.revision ?? NO_REVISION,
        position: loaded.events.at(-1)?.position ?? START,
        events: [],
        state: loaded.state,
        idempotent: false,
      };
    }

    const toAppend = eventsToAppend(deps, streamId, context, decided);
    try {
      const appended = await deps.eventStore.append(streamId, toAppend, { expectedRevision: loaded.revision ?? 'no_stream' });
      const state = decided.reduce((current, event) => decider.evolve(current, event), loaded.state);
      return {
        streamId,
        revision: appended.nextExpectedRevision,
        position: appended.position,
        events: decided.map((event, index) => ({ ...event, id: toAppend[index]!.id })),
        state,
        idempotent: false,
      };
    } catch (error) {
      if (attempt >= maxRetries) throw error;
      // Someone else appended between our read and our write. Deciding again on fresh state is safe
      // (decide is pure) unless the caller pinned the revision it had seen.
      if (error instanceof WrongExpectedRevisionError && request.expectedRevision === undefined) continue;
      // The same command raced itself and decided differently the second time (some ids repeat, not all):
      // the reload finds the first run's events and answers with them.
      if (error instanceof IdempotencyConflictError) continue;
      throw error;
    }
  }
}

/** The metadata every event carries: who, which command, why, when (injected clock), which shape. */
export function eventMetadata(context: CommandContext, occurredAt: string, schemaVersion: number): JsonObject {
  return {
    tenantId: context.tenantId,
    userId: context.userId,
    commandId: context.commandId,
    correlationId: context.correlationId,
    causationId: context.causationId ?? context.commandId,
    occurredAt,
    schemaVersion,
  };
}

function eventsToAppend(deps: CommandDeps, streamId: string, context: CommandContext, decided: readonly DomainEvent[]): EventToAppend[] {
  const occurredAt = deps.clock().toISOString();
  return decided.map((event, index) => ({
    // Derived from the command id: a repeated command writes the same ids, which the store recognises.
    id: deterministicUuid(streamId, `${context.commandId}:${index}`),
    type: event.type,
    data: event.data,
    metadata: eventMetadata(context, occurredAt, schemaVersionOf(event.type, deps.upcasters)),
  }));
}

/** The `expectNew` path: one append and no read. Undefined sends the caller down the full path. */
async function createOptimistically<State, Command, Event extends DomainEvent>(
  deps: CommandDeps,
  decider: Decider<State, Command, Event>,
  request: CommandRequest<Command, State>,
): Promise<CommandResult<State, Event> | undefined> {
  const initial = decider.initialState();
  let decided: Event[];
  try {
    request.authorize?.(initial);
    decided = decider.decide(request.command, initial);
  } catch {
    // A refusal on the initial state may be a retry whose first run succeeded and whose inputs have
    // changed since (a batch's snapshot): the full path answers a retry with its first result before
    // deciding, and decides (and refuses) again otherwise.
    return undefined;
  }
  if (decided.length === 0) return undefined;
  // The tenant's aggregate may live in its legacy stream: then this is no create, and the full path says so.
  if ((await legacyStreamOf(deps.eventStore, request.streamId, request.context.tenantId)) !== undefined) return undefined;
  const toAppend = eventsToAppend(deps, request.streamId, request.context, decided);
  let appended: AppendResult;
  try {
    appended = await deps.eventStore.append(request.streamId, toAppend, { expectedRevision: 'no_stream' });
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError || error instanceof IdempotencyConflictError) return undefined;
    throw error;
  }
  // A repeat of an earlier run: the full path answers it with the events that run wrote.
  if (appended.idempotent) return undefined;
  return {
    streamId: request.streamId,
    revision: appended.nextExpectedRevision,
    position: appended.position,
    events: decided.map((event, index) => ({ ...event, id: toAppend[index]!.id })),
    state: decided.reduce((current, event) => decider.evolve(current, event), initial),
    idempotent: false,
  };
}
