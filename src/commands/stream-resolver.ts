// Which stream holds an aggregate whose stream name is tenant-scoped (`<category>-<tenant>-<id>`,
// domain/tenant-streams.ts). Stores written before ids were per tenant hold the legacy `<category>-<id>`:
// an aggregate keeps living there (reads and later writes) as long as it has no scoped stream and the
// legacy stream's first event is the tenant's. Another tenant's legacy stream is never read or written: for
// the caller its id is free, so a create answers exactly as for an unused id and writes a scoped stream.
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '../ports/event-store.js';
import { legacyStreamIdOf, parseStreamId } from '../domain/tenant-streams.js';

/** The stream's events from its start (at most `maxCount`), or undefined when it has none to read. */
export async function readIfAny(eventStore: EventStore, streamId: string, maxCount?: number): Promise<RecordedEvent[] | undefined> {
  try {
    const events = await eventStore.readStream(streamId, maxCount === undefined ? undefined : { maxCount });
    return events.length > 0 ? events : undefined;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
}

/**
 * The legacy stream that still holds `tenantId`'s aggregate named by the scoped `streamId`, or undefined
 * (not a scoped name of this tenant, no legacy stream, or another tenant's). Call it only once the scoped
 * stream is known to be empty: a scoped stream always wins.
 */
export async function legacyStreamOf(eventStore: EventStore, streamId: string, tenantId: string): Promise<string | undefined> {
  const legacy = legacyStreamIdOf(streamId);
  if (legacy === undefined || parseStreamId(streamId)?.tenantId !== tenantId) return undefined;
  const [first] = (await readIfAny(eventStore, legacy, 1)) ?? [];
  // The creating event's metadata names the tenant (handleCommand's eventMetadata); every event since has
  // been the same tenant's, since loadAggregate refuses a stream with another tenant's events.
  return first?.metadata.tenantId === tenantId ? legacy : undefined;
}

/** The stream that holds the aggregate `streamId` names for `tenantId`: the scoped one unless the legacy
 * one is the tenant's and the scoped one is empty. For readers outside loadAggregate (event feeds, claims). */
export async function resolveStreamId(eventStore: EventStore, streamId: string, tenantId: string): Promise<string> {
  if (legacyStreamIdOf(streamId) === undefined || (await readIfAny(eventStore, streamId, 1)) !== undefined) return streamId;
  return (await legacyStreamOf(eventStore, streamId, tenantId)) ?? streamId;
}
