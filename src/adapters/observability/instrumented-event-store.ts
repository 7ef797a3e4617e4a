import { WrongExpectedRevisionError, type EventStore } from '../../ports/event-store.js';
import type { Metrics } from '../../ports/metrics.js';

/** Decorates an event store with append latency and volume metrics; everything else passes through. */
export function instrumentEventStore(store: EventStore, metrics: Metrics): EventStore {
  return {
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    headPosition: () => store.headPosition(),
    existingStreams: (streamIds) => store.existingStreams(streamIds),
    deleteStream: (streamId, options) => store.deleteStream(streamId, options),
    close: () => store.close(),
    async append(streamId, events, options) {
      const stopTimer = metrics.appendDuration.startTimer();
      try {
        const result = await store.append(streamId, events, options);
        stopTimer({ outcome: 'ok' });
        metrics.appendedEvents.inc(events.length);
        return result;
      } catch (error) {
        stopTimer({ outcome: error instanceof WrongExpectedRevisionError ? 'conflict' : 'error' });
        throw error;
      }
    },
  };
}
