// Runs the contract against a real EventStoreDB when EVENTSTORE_CONNECTION_STRING is set, e.g.
// `esdb://localhost:2113?tls=false` with the eventstore service of docker-compose.yml. None can run on the
// development and CI machines, so it is skipped there, saying so.
import { describe } from 'vitest';
import { createEventStoreDbEventStore } from '../../../src/adapters/event-store/eventstoredb-event-store.js';
import { eventStoreContract } from './event-store.contract.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;
if (!connectionString) console.warn('[skip] event store contract on EventStoreDB: EVENTSTORE_CONNECTION_STRING is not set');

describe.skipIf(!connectionString)('EventStoreDB', () => {
  eventStoreContract('EventStoreDB', async () => {
    const store = createEventStoreDbEventStore(connectionString!);
    return {
      store,
      cleanup: () => store.close(),
      behaviour: {
        // The server keeps no per-stream index of event ids: an append at the current revision that
        // repeats an old id is written (a retry at a stale revision is still recognised).
        refusesRepeatedIdsAtCurrentRevision: false,
      },
    };
  });
});
