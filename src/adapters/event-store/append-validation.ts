import type { EventToAppend } from '../../domain/event-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Refuses an append that no store could write whole: no events, an id that is not a UUID (every store
 * keys idempotency on it), or one id twice in the batch. Checked before any I/O, so nothing is written. */
export function assertAppendable(streamId: string, events: readonly EventToAppend[]): void {
  if (streamId.length === 0) throw new RangeError('append needs a stream id');
  if (events.length === 0) throw new RangeError(`stream ${streamId}: append needs at least one event`);
  const seen = events.length > 1 ? new Set<string>() : undefined;
  for (const event of events) {
    if (!UUID.test(event.id)) throw new RangeError(`stream ${streamId}: event id ${JSON.stringify(event.id)} is not a UUID`);
    if (!event.type) throw new RangeError(`stream ${streamId}: event ${event.id} has no type`);
    if (!seen) continue;
    const id = event.id.toLowerCase();
    if (seen.has(id)) throw new RangeError(`stream ${streamId}: event id ${id} appears twice in one append`);
    seen.add(id);
  }
}
