// Event store figures: single-event appends with 16 concurrent writers, 100-event appends, readAll.
import { randomUUID } from 'node:crypto';
import type { EventStore, EventToAppend } from '../src/domain/event-store.js';

export interface EventStoreBenchOptions {
  /** Multiplies the volumes (PGlite runs a fifth of PostgreSQL's). */
  readonly scale?: number;
}

// About 300 bytes of data and metadata, like a template update.
const payload = (i: number): EventToAppend => ({
  id: randomUUID(),
  type: 'TemplateUpdated',
  data: { templateId: randomUUID(), changes: { name: `Template ${i}`, defaultDuration: 90, defaultMaxParticipants: 24, tags: ['language', 'beginner'] }, version: i },
  metadata: { tenantId: 'bench-tenant', userId: 'bench-user', commandId: randomUUID(), correlationId: randomUUID(), occurredAt: new Date().toISOString(), schemaVersion: 1 },
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

export async function benchEventStore(store: EventStore, options: EventStoreBenchOptions): Promise<Record<string, number>> {
  const scale = options.scale ?? 1;
  const run = randomUUID().slice(0, 8);

  // 1. Single-event appends, 16 writers on distinct streams, each with its exact expected revision.
  const writers = 16;
  const perWriter = Math.round(2500 * scale);
  const latencies: number[] = [];
  let started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const streamId = `benchsingle-${run}w${w}`;
      let expected: bigint | 'no_stream' = 'no_stream';
      for (let i = 0; i < perWriter; i++) {
        const t0 = performance.now();
        const result = await store.append(streamId, [payload(i)], { expectedRevision: expected });
        latencies.push(performance.now() - t0);
        expected = result.nextExpectedRevision;
      }
    }),
  );
  const singleSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);

  // 2. 100-event appends, 4 writers.
  const batchWriters = 4;
  const batchesPerWriter = Math.round(500 * scale);
  started = performance.now();
  await Promise.all(
    Array.from({ length: batchWriters }, async (_, w) => {
      let expected: bigint | 'no_stream' = 'no_stream';
      for (let b = 0; b < batchesPerWriter; b++) {
        const result = await store.append(`benchbatch-${run}w${w}`, Array.from({ length: 100 }, (_, i) => payload(i)), { expectedRevision: expected });
        expected = result.nextExpectedRevision;
      }
    }),
  );
  const batchSeconds = (performance.now() - started) / 1000;

  // 3. readAll of the whole log in pages of 1000.
  started = performance.now();
  let read = 0;
  let after;
  for (;;) {
    const page = await store.readAll({ maxCount: 1000, ...(after ? { after } : {}) });
    read += page.events.length;
    after = page.lastPosition;
    if (page.isEnd) break;
  }
  const readSeconds = (performance.now() - started) / 1000;

  return {
    singleAppendWriters: writers,
    singleAppends: writers * perWriter,
    singleAppendsPerSecond: round((writers * perWriter) / singleSeconds),
    appendLatencyP50Ms: round(percentile(latencies, 50), 2),
    appendLatencyP99Ms: round(percentile(latencies, 99), 2),
    batchAppendEvents: batchWriters * batchesPerWriter * 100,
    batchAppendEventsPerSecond: round((batchWriters * batchesPerWriter * 100) / batchSeconds),
    readAllEvents: read,
    readAllEventsPerSecond: round(read / readSeconds),
  };
}
