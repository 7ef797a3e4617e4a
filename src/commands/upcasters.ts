// Upcasting: events are stored in the shape of the day they were written (metadata.schemaVersion) and
// turned into the current shape when read, so aggregates and projectors only know the newest one.
import type { JsonObject, RecordedEvent } from '../domain/event-store.js';

/** Turns the data of version `n` into version `n + 1`. */
export type UpcastStep = (data: JsonObject) => JsonObject;

export interface EventSchema {
  readonly currentVersion: number;
  /** steps[n] upgrades version n to n + 1, for every n from 1 to currentVersion - 1. */
  readonly steps: Readonly<Record<number, UpcastStep>>;
}

/** Per event type; a type without an entry is at version 1 and never upcast. */
export type Upcasters = Readonly<Record<string, EventSchema>>;

export const schemaVersionOf = (eventType: string, upcasters: Upcasters | undefined) => upcasters?.[eventType]?.currentVersion ?? 1;

export function upcast(event: RecordedEvent, upcasters: Upcasters | undefined): RecordedEvent {
  const schema = upcasters?.[event.type];
  if (!schema) return event;
  const stored = typeof event.metadata.schemaVersion === 'number' ? event.metadata.schemaVersion : 1;
  if (stored >= schema.currentVersion) return event;
  let data = event.data;
  for (let version = stored; version < schema.currentVersion; version++) {
    const step = schema.steps[version];
    if (!step) throw new Error(`no upcaster for ${event.type} from schema version ${version}`);
    data = step(data);
  }
  return { ...event, data, metadata: { ...event.metadata, schemaVersion: schema.currentVersion } };
}
