// Event store figures: single-event appends with 16 concurrent writers, 100-event appends, readAll, and
// append latency. Events are built before each timer starts, so the figures measure the store, not the
// making of test data.
import { randomUUID } from 'node:crypto';
import type { EventStore, EventToAppend, Position } from '../src/ports/event-store.js';

export interface EventStoreBenchOptions {
  /** Multiplies the volumes (PGlite runs a fifth of PostgreSQL's). */
  readonly scale?: number;
  /** Concurrent single-event writers, each on its own stream. */
  readonly writers?: number;
}

// About 300 bytes of data and metadata, like a template update.
const benchEvent = (i: number): EventToAppend => ({
  id: randomUUID(),
  type: 'TemplateUpdated',
  data: {
    templateId: randomUUID(),
    changes: { name: `Template ${i}`, defaultDuration: 90, defaultMaxParticipants: 24, tags: ['language', 'beginner'] },
    version: i,
  },
  metadata: {
    tenantId: 'bench-tenant',
    userId: 'bench-user',
    commandId: randomUUID(),
    correlationId: randomUUID(),
    occurredAt: new Date().toISOString(),
    schemaVersion: 1,
  },
});

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const secondsSince = (started: number) => (performance.now() - started) / 1000;

export async function benchEventStore(store: EventStore, options: EventStoreBenchOptions = {}): Promise<Record<string, number>> {
  const scale = options.scale ?? 1;
  const run = randomUUID().slice(0, 8);

  // 1. Single-event appends: each writer owns a stream and appends with its exact expected revision.
  const writers = options.writers ?? 16;
  const perWriter = Math.max(1, Math.round(2500 * scale));
  const singles = Array.from({ length: writers }, () => Array.from({ length: perWriter }, (_, i) => benchEvent(i)));
  const latencies: number[] = [];
  let started = performance.now();
  await Promise.all(
    singles.map(async (events, w) => {
      const streamId = `benchsingle-${run}w${w}`;
      let expectedRevision: bigint | 'no_stream' = 'no_stream';
      for (const event of events) {
        const t0 = performance.now();
        const result = await store.append(streamId, [event], { expectedRevision });
        latencies.push(performance.now() - t0);
        expectedRevision = result.nextExpectedRevision;
      }
    }),
  );
  const singleSeconds = secondsSince(started);
  latencies.sort((a, b) => a - b);

  // 2. 100-event appends, 4 writers. Batches are built a writer's round at a time, outside the timer.
  const batchWriters = 4;
  const batchesPerWriter = Math.max(1, Math.round(500 * scale));
  const rounds = 10;
  const batchesPerRound = Math.ceil(batchesPerWriter / rounds);
  const batchRevisions = new Map<number, bigint | 'no_stream'>();
  let batchSeconds = 0;
  let batchEvents = 0;
  for (let round = 0; round * batchesPerRound < batchesPerWriter; round++) {
    const count = Math.min(batchesPerRound, batchesPerWriter - round * batchesPerRound);
    const batches = Array.from({ length: batchWriters }, () =>
      Array.from({ length: count }, () => Array.from({ length: 100 }, (_, i) => benchEvent(i))),
    );
    started = performance.now();
    await Promise.all(
      batches.map(async (writerBatches, w) => {
        for (const batch of writerBatches) {
          const result = await store.append(`benchbatch-${run}w${w}`, batch, { expectedRevision: batchRevisions.get(w) ?? 'no_stream' });
          batchRevisions.set(w, result.nextExpectedRevision);
          batchEvents += batch.length;
        }
      }),
    );
    batchSeconds += secondsSince(started);
  }

  // 3. readAll of the whole log in pages of 1000.
  started = performance.now();
  let read = 0;
  let after: Position | undefined;
  for (;;) {
    const page = await store.readAll({ maxCount: 1000, ...(after ? { after } : {}) });
    read += page.events.length;
    after = page.lastPosition;
    if (page.isEnd) break;
  }
  const readSeconds = secondsSince(started);

  return {
    singleAppendWriters: writers,
    singleAppends: writers * perWriter,
    singleAppendsPerSecond: round((writers * perWriter) / singleSeconds),
    appendLatencyP50Ms: round(percentile(latencies, 50), 2),
    appendLatencyP99Ms: round(percentile(latencies, 99), 2),
    batchAppendEvents: batchEvents,
    batchAppendEventsPerSecond: round(batchEvents / batchSeconds),
    readAllEvents: read,
    readAllEventsPerSecond: round(read / readSeconds),
  };
}
