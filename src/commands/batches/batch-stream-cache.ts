// The workers' path to a batch stream. A batch of 100,000 items has as many outcome events, and its
// workers append to it hundreds of times; loading and folding the whole stream for each append (as
// handleCommand does) would make a batch quadratic. Here a process keeps the folded state of the batches
// it works on and reads only the events after the revision it holds (the stream is append-only, so the
// state it holds plus those events is the state). Appends go with that revision as the expected one, so
// a concurrent writer still makes the append fail and be decided again on the newer state.
//
// The process manager's commands (begin, enqueue, outcomes, withdraw) and the client's commands on an
// existing batch (cancel, retry, undo) go through one writer per stream per process, so a client's cancel
// is not starved by the workers' appends. A command id already in the stream is answered with what it
// appended (a client's retried request); the workers' commands are also safe to repeat by the decider.
// A new batch (start, undo batch) goes through handleCommand: nobody else writes to a new stream.
import { batchDecider, type BatchCommand, type BatchItem, type BatchState, type LiveBatchState } from '../../domain/batches/index.js';
import type { BatchEvent } from '../../domain/batches/index.js';
import { batchStreamId } from '../../domain/batches/batch-streams.js';
import { START, StreamNotFoundError, WrongExpectedRevisionError, type Position } from '../../ports/event-store.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import { eventMetadata, notFound, type CommandContext, type CommandDeps } from '../handle-command.js';
import { schemaVersionOf, upcast } from '../upcasters.js';

export interface CachedBatch {
  readonly state: BatchState;
  /** Revision of the last folded event; undefined when the stream does not exist. */
  readonly revision: bigint | undefined;
  /** The plan's items (from BatchPlanRecorded); [] before it. */
  readonly items: readonly BatchItem[];
}

type Entry = {
  tenantId: string;
  state: LiveBatchState;
  revision: bigint;
  items: readonly BatchItem[];
  commands: Map<string, Answer>;
};

/** What a command appended: kept per command id, so a repeated client command is answered, not re-run. */
type Answer = { revision: bigint; position: Position; events: BatchEvent[] };

/**
 * A client's command (cancel, retry, undo) writes a few events, and its repeat is answered with them. A
 * worker's outcome report writes one per item: keeping those for every report would hold every outcome
 * of a 100,000-item batch in memory twice, so a repeated report (which nobody sends: report ids are
 * random) would be answered with its revision and position only.
 */
const ANSWER_EVENTS_KEPT = 16;
const answerOf = (revision: bigint, position: Position, events: BatchEvent[]): Answer => ({
  revision,
  position,
  events: events.length <= ANSWER_EVENTS_KEPT ? events : [],
});

export interface BatchRunResult {
  readonly state: BatchState;
  readonly revision: bigint;
  readonly position: Position;
  readonly events: readonly BatchEvent[];
  /** True when this command id had already been handled: nothing new was appended. */
  readonly idempotent: boolean;
}

export interface BatchStreamCache {
  load(tenantId: string, batchId: string): Promise<CachedBatch>;
  /** Decides `command` on the newest state and appends, deciding again after a concurrent append. */
  run(context: CommandContext, batchId: string, command: BatchCommand): Promise<BatchRunResult>;
}

const MAX_ATTEMPTS = 100;

export function createBatchStreamCache(deps: CommandDeps, maxEntries = 64): BatchStreamCache {
  const entries = new Map<string, Entry>();
  // One writer per stream in this process: lanes of one process would otherwise only fail each other.
  const tails = new Map<string, Promise<unknown>>();

  async function load(tenantId: string, batchId: string): Promise<CachedBatch & { commands: ReadonlyMap<string, Answer> }> {
    const streamId = batchStreamId(batchId);
    const hit = entries.get(streamId);
    if (hit && hit.tenantId !== tenantId) throw notFound(streamId);
    let recorded;
    try {
      recorded = await deps.eventStore.readStream(streamId, hit ? { fromRevision: hit.revision + 1n } : {});
    } catch (error) {
      if (error instanceof StreamNotFoundError)
        return {
          state: batchDecider.initialState(),
          revision: undefined,
          items: [],
          commands: new Map(),
        };
      throw error;
    }
    if (recorded.some((event) => event.metadata.tenantId !== tenantId)) throw notFound(streamId);
    let state: BatchState = hit?.state ?? batchDecider.initialState();
    let items = hit?.items ?? [];
    // A copy when something is new: concurrent loads fold from the same entry.
    const commands = recorded.length === 0 && hit ? hit.commands : new Map<string, Answer>(hit?.commands ?? []);
    const written = new Map<string, { last: (typeof recorded)[number]; events: BatchEvent[] }>();
    for (const event of recorded) {
      const current = upcast(event, deps.upcasters) as unknown as BatchEvent;
      state = batchDecider.evolve(state, {
        type: current.type,
        data: current.data,
      } as BatchEvent);
      if (current.type === 'BatchPlanRecorded') items = current.data.items;
      const commandId = String(event.metadata.commandId ?? '');
      const command = written.get(commandId) ?? { last: event, events: [...(commands.get(commandId)?.events ?? [])] };
      command.last = event;
      command.events.push({ type: current.type, data: current.data } as BatchEvent);
      written.set(commandId, command);
    }
    for (const [commandId, { last, events }] of written) commands.set(commandId, answerOf(last.revision, last.position, events));
    const revision = recorded.at(-1)?.revision ?? hit?.revision;
    if (state.status !== 'absent' && revision !== undefined) {
      entries.delete(streamId); // re-inserted last: the map's order is the eviction order
      entries.set(streamId, { tenantId, state, revision, items, commands });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    }
    return { state, revision, items, commands };
  }

  /** What this process just appended, folded into its entry: the next load reads nothing it already knows. */
  function remember(
    streamId: string,
    context: CommandContext,
    loaded: CachedBatch & { commands: ReadonlyMap<string, Answer> },
    state: BatchState,
    revision: bigint,
    position: Position,
    events: BatchEvent[],
  ): void {
    const entry = entries.get(streamId);
    // Only on top of the very state the command was decided on; otherwise the next load reads the stream.
    if (!entry || entry.revision !== loaded.revision || state.status === 'absent') return;
    if (revision !== loaded.revision + BigInt(events.length)) return;
    const commands = new Map(entry.commands);
    commands.set(context.commandId, answerOf(revision, position, events));
    entries.set(streamId, { ...entry, state, revision, commands });
  }

  async function runOnce(context: CommandContext, batchId: string, command: BatchCommand): Promise<BatchRunResult> {
    const streamId = batchStreamId(batchId);
    for (let attempt = 1; ; attempt++) {
      const loaded = await load(context.tenantId, batchId);
      const earlier = loaded.commands.get(context.commandId);
      if (earlier)
        return {
          state: loaded.state,
          revision: earlier.revision,
          position: earlier.position,
          events: earlier.events,
          idempotent: true,
        };
      if (loaded.state.status === 'absent') throw notFound(streamId);
      const decided = batchDecider.decide(command, loaded.state);
      if (decided.length === 0)
        return {
          state: loaded.state,
          revision: loaded.revision ?? -1n,
          position: START,
          events: [],
          idempotent: false,
        };
      const occurredAt = deps.clock().toISOString();
      const toAppend = decided.map((event, index) => ({
        id: deterministicUuid(streamId, `${context.commandId}:${attempt}:${index}`),
        type: event.type,
        data: event.data,
        metadata: eventMetadata(context, occurredAt, schemaVersionOf(event.type, deps.upcasters)),
      }));
      try {
        const appended = await deps.eventStore.append(streamId, toAppend, {
          expectedRevision: loaded.revision ?? 'no_stream',
        });
        const state = decided.reduce<BatchState>((current, event) => batchDecider.evolve(current, event), loaded.state);
        remember(streamId, context, loaded, state, appended.nextExpectedRevision, appended.position, decided);
        return {
          state,
          revision: appended.nextExpectedRevision,
          position: appended.position,
          events: decided,
          idempotent: false,
        };
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  return {
    load,
    run(context, batchId, command) {
      const streamId = batchStreamId(batchId);
      const result = (tails.get(streamId) ?? Promise.resolve()).catch(() => undefined).then(() => runOnce(context, batchId, command));
      const tail = result.catch(() => undefined);
      tails.set(streamId, tail);
      void tail.then(() => {
        if (tails.get(streamId) === tail) tails.delete(streamId);
      });
      return result;
    },
  };
}
