// Pure mapping between the port and EventStoreDB's client types, unit-tested without a server.
import {
  ANY,
  NO_STREAM,
  START as ESDB_START,
  STREAM_EXISTS,
  eventTypeFilter,
  excludeSystemEvents,
  streamNameFilter,
  type AppendExpectedRevision,
  type CurrentRevision,
  type Filter,
  type Position as EsdbPosition,
  type ReadPosition,
} from '@eventstore/db-client';
import {
  START,
  comparePositions,
  streamCategory,
  type AllFilter,
  type ExpectedRevision,
  type Position,
  type RecordedEvent,
} from '../../ports/event-store.js';
import type { JsonObject } from '../../domain/json.js';

/** The port's expectations are EventStoreDB's own (same names, same meaning); spelled out so a rename on
 * either side fails to compile instead of passing a string through. */
export function toAppendExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'any':
      return ANY;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

/** The server's view of a stream's revision in a WrongExpectedVersion error. */
export function fromCurrentRevision(current: CurrentRevision): bigint | 'no_stream' {
  return typeof current === 'bigint' && current >= 0n ? current : 'no_stream';
}

export function fromEsdbPosition(position: EsdbPosition): Position {
  return { commit: position.commit, prepare: position.prepare };
}

/** Where to start reading $all for "strictly after `after`": the server reads from a position inclusively,
 * so the caller drops events at or before `after` (see `isAfter`). */
export function readPositionAfter(after: Position | undefined): ReadPosition {
  return after && comparePositions(after, START) > 0 ? { commit: after.commit, prepare: after.prepare } : ESDB_START;
}

export const isAfter = (position: Position, after: Position | undefined) => !after || comparePositions(position, after) > 0;

/** EventStoreDB's own events ($-prefixed types and streams) are never part of the domain log. */
export const isSystemEvent = (type: string, streamId: string) => type.startsWith('$') || streamId.startsWith('$');

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A category is the stream id up to its first '-', so `template` matches `template-…` and `template`
 * alone. A plain prefix filter (`template-`) would miss the latter, and `template` would also match
 * `templates-1`, so the server gets a regex. */
export function categoryRegex(categories: readonly string[]): string {
  return `^(${categories.map(escapeRegex).join('|')})(-|$)`;
}

export function eventTypeRegex(types: readonly string[]): string {
  return `^(${types.map(escapeRegex).join('|')})$`;
}

/**
 * The server filters on one thing (stream name or event type); with both, it filters streams (usually
 * the narrower) and the client filters types. Without a filter, system events are excluded on the server.
 */
export function serverFilterOf(filter: AllFilter | undefined): { on: 'stream' | 'type' | 'no_system'; regex?: string } {
  if (filter?.categories) return { on: 'stream', regex: categoryRegex(filter.categories) };
  if (filter?.eventTypes) return { on: 'type', regex: eventTypeRegex(filter.eventTypes) };
  return { on: 'no_system' };
}

export interface CheckpointOptions {
  readonly checkpointInterval: number;
  readonly checkpointReached: NonNullable<Filter['checkpointReached']>;
}

/** The client filter for a $all subscription: server-side filtering with checkpoints reported. */
export function subscriptionFilterOf(filter: AllFilter | undefined, checkpoints: CheckpointOptions): Filter {
  const server = serverFilterOf(filter);
  if (server.on === 'stream') return streamNameFilter({ regex: server.regex!, ...checkpoints });
  if (server.on === 'type') return eventTypeFilter({ regex: server.regex!, ...checkpoints });
  return excludeSystemEvents(checkpoints);
}

export function matchesFilter(filter: AllFilter | undefined, type: string, streamId: string): boolean {
  if (isSystemEvent(type, streamId)) return false;
  if (filter?.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter?.categories && !filter.categories.includes(streamCategory(streamId))) return false;
  return true;
}

/**
 * An append the server refused with WrongExpectedVersion, judged by which of its ids the stream already
 * holds: none, a real conflict; all, a retry with another expectation (a no-op, as on PostgreSQL); some,
 * a retry that is not a retry. (The server itself answers WrongExpectedVersion to a partial repeat.)
 */
export function classifyRepeat(ids: readonly string[], storedIds: ReadonlySet<string>): 'none' | 'all' | 'some' {
  const repeated = ids.filter((id) => storedIds.has(id.toLowerCase())).length;
  return repeated === 0 ? 'none' : repeated === ids.length ? 'all' : 'some';
}

/**
 * Adds to `found` the events of one page (read backwards from the stream's end) whose ids the append
 * repeats; says whether to read on. The whole stream is read if need be: EventStoreDB keeps no per-stream
 * index of ids, and a retry must be recognised however far the stream has moved on since.
 */
export function collectRepeatedIds(
  ids: ReadonlySet<string>,
  found: Map<string, EsdbRecorded>,
  page: readonly EsdbRecorded[],
  pageSize: number,
): 'more' | 'done' {
  for (const event of page) {
    const id = event.id.toLowerCase();
    if (ids.has(id)) found.set(id, event);
  }
  const oldest = page.at(-1);
  return found.size === ids.size || page.length < pageSize || !oldest || oldest.revision === 0n ? 'done' : 'more';
}

/** The port's `actual` for a refusal: a soft-deleted stream still has revisions on the server, but reads
 * as not found, and the port (as on PostgreSQL) calls it `no_stream`. */
export function actualRevisionOf(serverActual: bigint | 'no_stream', readable: boolean): bigint | 'no_stream' {
  return readable ? serverActual : 'no_stream';
}

/** After a delete refused with WrongExpectedVersion: the revision to delete at again, or undefined to
 * report the conflict. With `stream_exists`, an append that landed between the read of the revision and
 * the delete is no conflict: the stream still exists, so delete at the revision the server reports. */
export function deleteRetryRevision(expected: ExpectedRevision, serverActual: bigint | 'no_stream'): bigint | undefined {
  return expected === 'stream_exists' && serverActual !== 'no_stream' ? serverActual : undefined;
}

export interface EsdbRecorded {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly created: Date;
  readonly data: unknown;
  readonly metadata?: unknown;
  readonly position?: EsdbPosition | undefined;
}

export function toRecordedEvent(event: EsdbRecorded): RecordedEvent {
  if (!event.position) throw new Error(`event ${event.id} has no $all position`);
  const asObject = (value: unknown): JsonObject =>
    value && typeof value === 'object' && !(value instanceof Uint8Array) ? (value as JsonObject) : {};
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: fromEsdbPosition(event.position),
    data: asObject(event.data),
    metadata: asObject(event.metadata),
    recordedAt: event.created,
  };
}
