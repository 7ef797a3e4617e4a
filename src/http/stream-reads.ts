// Reads the Server-Sent Events routes share: a stream's events after a revision (a missing stream has
// none yet), and its first event, which carries the tenant the stream belongs to.
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '../ports/event-store.js';

export async function eventsAfter(store: EventStore, streamId: string, after: bigint, maxCount?: number): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(streamId, { fromRevision: after + 1n, ...(maxCount === undefined ? {} : { maxCount }) });
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

/** The stream's first event only: a tenancy check must not read a 100,000-item batch's whole stream. */
export async function firstEventOf(store: EventStore, streamId: string): Promise<RecordedEvent | undefined> {
  try {
    return (await store.readStream(streamId, { maxCount: 1 }))[0];
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
}
