// Runs the contract against a real EventStoreDB when EVENTSTORE_CONNECTION_STRING is set, e.g.
// `esdb://localhost:2113?tls=false` from docker-compose. None can run on the CI machines.
import { describe } from 'vitest';
import { createEventStoreDbEventStore } from '../../../src/adapters/event-store/eventstoredb-event-store.js';
import { eventStoreContract } from './event-store.contract.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;
if (!connectionString) console.warn('[skip] event store contract on EventStoreDB: EVENTSTORE_CONNECTION_STRING is not set');

describe.skipIf(!connectionString)('EventStoreDB', () => {
  eventStoreContract('EventStoreDB', async () => {
    const store = createEventStoreDbEventStore(connectionString!);
    // Soft-deleted streams can be written again on EventStoreDB; revisions continue after the last one.
    return { store, recreatesDeletedStreams: true, cleanup: () => store.close() };
  });
});
