import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bullmqSafeId, createBullmqJobQueue } from '../../../src/adapters/queue/bullmq-job-queue.js';
import { redisService } from '../../support/services.js';
import { jobQueueContract } from './job-queue.contract.js';

const redis = redisService();
if (redis.skipReason) console.warn(`[skip] BullMQ job queue: ${redis.skipReason}`);

describe('bullmqSafeId', () => {
  it('keeps safe ids and hashes the others, so equal ids still dedupe and distinct ones do not', () => {
    expect(bullmqSafeId('template-import.42')).toBe('template-import.42');
    expect(bullmqSafeId('pm:event:1')).toMatch(/^h-[0-9a-f]{40}$/);
    expect(bullmqSafeId('pm:event:1')).toBe(bullmqSafeId('pm:event:1'));
    expect(bullmqSafeId('pm:event:1')).not.toBe(bullmqSafeId('pm:event:2'));
    expect(bullmqSafeId('123')).toMatch(/^h-/);
    expect(bullmqSafeId('x'.repeat(300))).toMatch(/^h-/);
  });
});

describe.skipIf(!redis.url)('BullMQ on Redis', () => {
  jobQueueContract('BullMQ', async () => {
    // A prefix per run: runs sharing one Redis never see each other's jobs.
    const queue = createBullmqJobQueue(redis.url!, { prefix: `test${randomUUID().slice(0, 8)}`, postponeMs: 30 });
    return { queue, cleanup: () => queue.close() };
  });
});
