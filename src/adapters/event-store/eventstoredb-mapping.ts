// Pure mapping between the port and EventStoreDB's client types, unit-tested without a server.
import type { AllFilter, JsonObject, Position, RecordedEvent } from '../../domain/event-store.js';

/** EventStoreDB's own events ($-prefixed types and streams) are never part of the domain log. */
export const isSystemEvent = (type: string, streamId: string) => type.startsWith('$') || streamId.startsWith('$');

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A category is the stream id up to its first '-', so `template` matches `template-…` and `template` alone. */
export function categoryRegex(categories: readonly string[]): string {
  return `^(${categories.map(escapeRegex).join('|')})(-|$)`;
}

export function eventTypeRegex(types: readonly string[]): string {
  return `^(${types.map(escapeRegex).join('|')})$`;
}

/**
 * The server filters on one thing (stream name or event type); with both, it filters streams and the
 * client filters types. Without a filter, system events are excluded on the server.
 */
export function serverFilterOf(filter: AllFilter | undefined): { on: 'stream' | 'type' | 'no_system'; regex?: string } {
  if (filter?.categories) return { on: 'stream', regex: categoryRegex(filter.categories) };
  if (filter?.eventTypes) return { on: 'type', regex: eventTypeRegex(filter.eventTypes) };
  return { on: 'no_system' };
}

export function matchesFilter(filter: AllFilter | undefined, type: string, streamId: string): boolean {
  if (isSystemEvent(type, streamId)) return false;
  if (filter?.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter?.categories) {
    const dash = streamId.indexOf('-');
    const category = dash === -1 ? streamId : streamId.slice(0, dash);
    if (!filter.categories.includes(category)) return false;
  }
  return true;
}

export interface EsdbRecorded {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly created: Date;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: { commit: bigint; prepare: bigint } | undefined;
}

export function toRecordedEvent(event: EsdbRecorded): RecordedEvent {
  if (!event.position) throw new Error(`event ${event.id} has no $all position`);
  const asObject = (value: unknown): JsonObject => (value && typeof value === 'object' && !(value instanceof Uint8Array) ? (value as JsonObject) : {});
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: { commit: event.position.commit, prepare: event.position.prepare } satisfies Position,
    data: asObject(event.data),
    metadata: asObject(event.metadata),
    recordedAt: event.created,
  };
}
