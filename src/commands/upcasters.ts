// Upcasting: an event is stored in the shape of the day it was written (metadata.schemaVersion, 1 when
// absent) and turned into the current shape when read, so aggregates and projectors only know the newest.
// Old events are never rewritten: history stays as it was recorded.
import type { JsonObject } from '../domain/json.js';
import type { RecordedEvent } from '../ports/event-store.js';

/** Turns the data of one schema version into the next. Pure. */
export type UpcastStep = (data: JsonObject) => JsonObject;

/**
 * Per event type, the steps in order: `steps[0]` turns version 1 into 2, `steps[n - 1]` version n into
 * n + 1. The current version of a type is therefore `steps.length + 1`: a version cannot be declared
 * without the step that reaches it. A type without an entry is at version 1.
 */
export type Upcasters = Readonly<Record<string, readonly UpcastStep[]>>;

/** The version new events of this type are written with. */
export const schemaVersionOf = (eventType: string, upcasters: Upcasters | undefined): number => (upcasters?.[eventType]?.length ?? 0) + 1;

export class UnknownSchemaVersionError extends Error {
  override readonly name = 'UnknownSchemaVersionError';
  constructor(
    readonly eventId: string,
    readonly eventType: string,
    readonly stored: unknown,
    readonly current: number,
  ) {
    super(`event ${eventId} (${eventType}) has schema version ${String(stored)}; this code knows versions 1 to ${current}`);
  }
}

/**
 * The event in the current shape of its type. A version newer than the code knows (an event written by a
 * newer deployment) is refused rather than guessed at: deciding on data one does not understand could
 * write wrong events.
 */
export function upcast(event: RecordedEvent, upcasters: Upcasters | undefined): RecordedEvent {
  const steps = upcasters?.[event.type] ?? [];
  const current = steps.length + 1;
  const stored = event.metadata.schemaVersion === undefined ? 1 : event.metadata.schemaVersion;
  if (typeof stored !== 'number' || !Number.isInteger(stored) || stored < 1 || stored > current) {
    throw new UnknownSchemaVersionError(event.id, event.type, stored, current);
  }
  if (stored === current) return event;
  const data = steps.slice(stored - 1).reduce((shape, step) => step(shape), event.data);
  return { ...event, data, metadata: { ...event.metadata, schemaVersion: current } };
}
