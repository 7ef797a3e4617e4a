// The bulk export of any event store (EventStoreDB): pages through readAll and serializes in Node.
import type { EventExport, EventExportPage, EventExportRange, EventExportReader } from '../../ports/event-export.js';
import { comparePositions, formatPosition, type EventStore, type RecordedEvent } from '../../ports/event-store.js';

const line = (event: RecordedEvent) =>
  JSON.stringify({
    streamId: event.streamId,
    revision: event.revision.toString(),
    position: formatPosition(event.position),
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
  });

export function createReadAllEventExport(eventStore: EventStore): EventExport {
  return {
    open(range: EventExportRange): EventExportReader {
      let after = range.after;
      let ended = false;
      return {
        async next(max: number): Promise<EventExportPage | undefined> {
          const limit = Math.max(1, Math.floor(max));
          // Pages filtered down to nothing (another tenant's events) are skipped, not returned empty.
          while (!ended) {
            const result = await eventStore.readAll({
              after,
              maxCount: limit,
              ...(range.categories ? { filter: { categories: range.categories } } : {}),
            });
            const inRange = result.events.filter(
              (event) =>
                comparePositions(event.position, range.to) <= 0 &&
                (range.tenantId === undefined || event.metadata.tenantId === range.tenantId),
            );
            if (result.isEnd || comparePositions(result.lastPosition, range.to) >= 0) ended = true;
            after = result.lastPosition;
            if (inRange.length > 0)
              return {
                ndjson: inRange.map(line).join('\n'),
                count: inRange.length,
                first: inRange[0]!.position,
                last: inRange.at(-1)!.position,
              };
          }
          return undefined;
        },
      };
    },
  };
}
