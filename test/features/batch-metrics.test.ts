// The batch alert thresholds (the seed's: failure rate above 10 %, backlog above 100 queued jobs) as /ready
// lists them: computed from the items this instance ran and the queue's own counts.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { batchMetrics } from '../../src/features/batch-metrics.js';
import type { JobCounts, JobQueue } from '../../src/ports/job-queue.js';

function queueWith(waiting: number | Error): JobQueue {
  const counts = async (): Promise<JobCounts> => {
    if (waiting instanceof Error) throw waiting;
    return { waiting, delayed: 0, active: 0, completed: 0, failed: 0 };
  };
  return { counts } as unknown as JobQueue;
}

const byName = (alerts: { name: string }[]) => Object.fromEntries(alerts.map((alert) => [alert.name, alert]));

describe('batch alerts', () => {
  it('fires the failure-rate alert above 10 % of the recent items, not at it', async () => {
    const monitor = batchMetrics(new Registry(), queueWith(0), ['items']);
    for (let i = 0; i < 90; i++) monitor.itemFinished('succeeded', 0.01);
    for (let i = 0; i < 10; i++) monitor.itemFinished('failed', 0.01);
    expect(byName(await monitor.alerts())['batch.failure_rate']).toEqual({
      name: 'batch.failure_rate',
      firing: false,
      value: 0.1,
      threshold: 0.1,
    });
    monitor.itemFinished('failed', 0.01);
    expect(byName(await monitor.alerts())['batch.failure_rate']).toMatchObject({ firing: true });
  });

  it('fires the backlog alert above 100 queued jobs, and not when the queue cannot be counted', async () => {
    expect(byName(await batchMetrics(new Registry(), queueWith(100), ['items']).alerts())['batch.backlog']).toMatchObject({
      firing: false,
      value: 100,
    });
    expect(byName(await batchMetrics(new Registry(), queueWith(101), ['items']).alerts())['batch.backlog']).toMatchObject({
      firing: true,
      value: 101,
    });
    const down = await batchMetrics(new Registry(), queueWith(new Error('redis down')), ['items']).alerts();
    expect(byName(down)['batch.backlog']).toMatchObject({ firing: false, value: -1 });
  });
});
