// `EventStore.existingStreams` for each adapter: one query where the store has a streams table, lanes of
// last-event reads where it has not (EventStoreDB).
import type { SqlDatabase } from '../../ports/sql-database.js';
import { StreamNotFoundError, type EventStore } from '../../ports/event-store.js';

export async function existingStreamsInTable(db: SqlDatabase, streamIds: readonly string[]): Promise<Set<string>> {
  if (streamIds.length === 0) return new Set();
  const rows = await db.query<{ stream_id: string }>(
    'SELECT stream_id FROM es_streams WHERE stream_id = ANY($1::text[]) AND NOT deleted AND last_revision >= truncate_before',
    [[...new Set(streamIds)]],
  );
  return new Set(rows.map((row) => row.stream_id));
}

export async function existingStreamsByReading(
  readStream: EventStore['readStream'],
  streamIds: readonly string[],
  lanes = 16,
): Promise<Set<string>> {
  const unique = [...new Set(streamIds)];
  const found = new Set<string>();
  let next = 0;
  const lane = async () => {
    while (next < unique.length) {
      const streamId = unique[next++]!;
      try {
        if ((await readStream(streamId, { direction: 'backwards', maxCount: 1 })).length > 0) found.add(streamId);
      } catch (error) {
        if (!(error instanceof StreamNotFoundError)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, unique.length) }, lane));
  return found;
}
