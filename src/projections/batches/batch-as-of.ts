// A batch as it was at a moment (GET /v1/batches/{id}?asOf=…), folded from its stream with the
// aggregate's own evolve(), up to the first event that occurred after that moment (a prefix: a state the
// batch really had). The view is the read model's shape, so a client reads both alike.
import { batchDecider, batchProgress, type BatchEvent, type BatchState } from '../../domain/batches/index.js';
import { batchStreamId } from '../../domain/batches/batch-streams.js';
import type { JsonObject, JsonValue } from '../../domain/json.js';
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '../../ports/event-store.js';
import type { BatchView } from './batch-queries.js';
import { CONFLICTS_KEPT } from './batch-tables.js';

/** Undefined: no such batch for this tenant; 'absent': the batch exists now but had no event yet then. */
export async function batchAsOf(
  eventStore: Pick<EventStore, 'readStream'>,
  tenantId: string,
  batchId: string,
  asOf: Date,
): Promise<BatchView | 'absent' | undefined> {
  let events: RecordedEvent[];
  try {
    events = await eventStore.readStream(batchStreamId(batchId));
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
  // Tenancy on the stream's first event (as the batch event stream judges it), not on the cut: another
  // tenant's batch is missing at every moment.
  if (events[0]?.metadata.tenantId !== tenantId) return undefined;
  const at = (event: RecordedEvent) => Date.parse(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const cut = events.findIndex((event) => !(at(event) <= asOf.getTime()));
  const prefix = cut === -1 ? events : events.slice(0, cut);
  const state = prefix.reduce<BatchState>(
    (current, event) => batchDecider.evolve(current, { type: event.type, data: event.data } as BatchEvent),
    batchDecider.initialState(),
  );
  if (state.status === 'absent') return 'absent';
  const conflicts: JsonValue[] = [];
  let conflictCount = 0;
  for (const event of prefix) {
    if (event.type !== 'BatchConflictsDetected') continue;
    const found = (event.data as { conflicts: JsonValue[] }).conflicts;
    conflictCount += found.length;
    conflicts.push(...found.slice(0, Math.max(0, CONFLICTS_KEPT - conflicts.length)));
  }
  return {
    batchId: state.batchId,
    operation: state.operation,
    status: state.status,
    progress: batchProgress(state.counts, { startedAt: state.startedAt, now: state.finishedAt ?? asOf.toISOString() }),
    conflicts: { total: conflictCount, items: conflicts },
    options: state.options as unknown as JsonObject,
    requestedBy: state.requestedBy,
    requestedAt: state.requestedAt,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    undoOf: state.undoOf,
    undoneBy: state.undoneBy,
    round: state.round,
    revision: Number(prefix.at(-1)!.revision),
  };
}
