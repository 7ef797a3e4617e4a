// The re-enqueue sweep step by step, on a real redis-server of its own (BullMQ) and the batch stack
// (PGlite): a batch's chunk jobs are put back with the process manager's own job ids — a no-op while they
// exist, back after FLUSHALL — and the items then run exactly once.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBullmqJobQueue } from '../../../src/adapters/queue/bullmq-job-queue.js';
import { startBatch } from '../../../src/commands/batches/batch-commands.js';
import { batchStreamId } from '../../../src/domain/batches/batch-streams.js';
import type { JobQueue } from '../../../src/ports/job-queue.js';
import {
  BATCH_ITEMS_QUEUE,
  BATCH_PROCESS,
  batchControlWorker,
  batchItemsWorker,
  batchWorkerCache,
} from '../../../src/processes/batches/batch-process.js';
import { requeueBatch, requeueUnfinishedBatches, type BatchRequeueDeps } from '../../../src/processes/batches/batch-requeue.js';
import { processJobId } from '../../../src/processes/process-manager.js';
import { createBatchStack, contextOf, until, type BatchStack } from '../../support/batch-stack.js';
import { startRedis, type Service } from '../../support/local-services.js';

describe('batch re-enqueue sweep (BullMQ on a redis-server of its own, PGlite)', () => {
  let redis: Service;
  let stack: BatchStack;
  let queue: JobQueue;
  beforeAll(async () => {
    redis = await startRedis();
    stack = await createBatchStack();
    if ('url' in redis) queue = createBullmqJobQueue(redis.url, { prefix: `requeue-${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await queue?.close();
    await stack?.close();
    if ('stop' in redis) await redis.stop();
  });

  it('puts back exactly the pending chunk jobs, with their original ids, and the items run once', async (context) => {
    if (!('url' in redis)) return context.skip(redis.skipReason);
    const tenantId = 'acme';
    const batchId = randomUUID();
    const items = Array.from({ length: 25 }, (_, i) => ({
      templateId: randomUUID(),
      name: `Requeue ${i} ${batchId}`,
      templateType: 'base',
    }));
    await startBatch(stack.batches, contextOf(tenantId, 'alice', randomUUID()), {
      batchId,
      operation: 'create',
      items,
      options: { chunkSize: 5, concurrency: 2 },
    });
    // The control step the process manager would have queued: the first two chunks are enqueued.
    const cache = batchWorkerCache(stack.batches);
    await batchControlWorker(
      stack.batches,
      cache,
    )({ id: 'advance', queue: 'batch-control', attempt: 1, payload: { action: 'advance', batchId, tenantId } });
    const chunkEvents = (await stack.eventStore.readStream(batchStreamId(batchId))).filter((e) => e.type === 'BatchChunkEnqueued');
    expect(chunkEvents.map((e) => e.data.chunkIndex)).toEqual([0, 1]);

    const enqueued: string[] = [];
    const recording: JobQueue = {
      ...queue,
      enqueue: (q, id, payload, options) => (enqueued.push(`${q}/${id}`), queue.enqueue(q, id, payload, options)),
    };
    await stack.caughtUp();
    const deps: BatchRequeueDeps = {
      eventStore: stack.eventStore,
      queue: recording,
      cache,
      clock: () => new Date(),
      unfinishedBatches: async () => [{ batchId, tenantId }],
    };
    const expected = chunkEvents.map((e) => `${BATCH_ITEMS_QUEUE}/${processJobId(BATCH_PROCESS, e)}`);
    expect(await requeueBatch(deps, tenantId, batchId)).toBe(2);
    expect(enqueued.sort()).toEqual(expected.sort()); // the window is full: no advance job
    expect((await queue.counts(BATCH_ITEMS_QUEUE)).waiting).toBe(2);
    // Again while the jobs exist: the same ids, so Redis keeps two jobs.
    await requeueUnfinishedBatches(deps);
    expect((await queue.counts(BATCH_ITEMS_QUEUE)).waiting).toBe(2);

    // Redis loses everything; the sweep puts the two back.
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
    expect((await queue.counts(BATCH_ITEMS_QUEUE)).waiting).toBe(0);
    await requeueUnfinishedBatches(deps);
    expect((await queue.counts(BATCH_ITEMS_QUEUE)).waiting).toBe(2);

    // A worker runs them (twice over: the same jobs are also put back while it works): each item once.
    const stop = await queue.work(BATCH_ITEMS_QUEUE, batchItemsWorker(stack.templates, cache), { concurrency: 2 });
    try {
      await requeueUnfinishedBatches(deps);
      await until(async () => (await queue.counts(BATCH_ITEMS_QUEUE)).completed === 2, 'both chunk jobs to complete');
    } finally {
      await stop();
    }
    const { state } = await cache.load(tenantId, batchId);
    if (state.status === 'absent') throw new Error('no batch');
    expect(state.counts.succeeded).toBe(10);
    for (const [index, item] of items.slice(0, 10).entries()) {
      const events = await stack.eventStore.readStream(`template-${item.templateId}`);
      expect(events.map((e) => `${e.type}@${String(e.metadata.commandId)}`)).toEqual([`TemplateCreated@${batchId}:${index}`]);
    }
    // Chunks 0 and 1 are done and 2 is not enqueued yet: the window has room, so the sweep asks for an advance.
    enqueued.length = 0;
    expect(await requeueBatch(deps, tenantId, batchId)).toBe(1);
    expect(enqueued).toEqual([`batch-control/${BATCH_PROCESS}.requeue.${batchId}.0.2`]);
  });
});
