// Batch metrics in /metrics: the depth of the batch job queues, each item's run time and outcome, the
// failure rate over the last items, and the seed's two alert thresholds as 0/1 gauges (failure rate above
// 10 %, backlog above 100 queued jobs), also listed in /ready (`alerts`, which set `degraded`). They are not
// readiness failures: a busy or failing batch says nothing about whether this instance can serve, and /ready
// failing would take it out of rotation.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobQueue } from '../ports/job-queue.js';
import type { Alert } from '../http/operations/index.js';
import type { BatchItemObserver } from '../processes/batches/batch-process.js';

export const BATCH_ALERT_FAILURE_RATE = 0.1;
export const BATCH_ALERT_BACKLOG = 100;
/** The failure rate is taken over this many most recent items. */
const WINDOW = 1000;
const COUNTS_TIMEOUT_MS = 1000;

export interface BatchMonitor extends BatchItemObserver {
  /** The seed's two thresholds, as /ready shows them. */
  alerts(): Promise<Alert[]>;
}

export function batchMetrics(registry: Registry, queue: JobQueue, queues: readonly string[]): BatchMonitor {
  const recent: boolean[] = [];
  let failedInWindow = 0;
  const failureRate = () => (recent.length === 0 ? 0 : failedInWindow / recent.length);
  const items = new Counter({
    name: 'batch_items_total',
    help: 'Batch items run to an outcome on this instance',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'batch_item_duration_seconds',
    help: 'Time to run one batch item (its template commands)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Bounded: a scrape must answer while Redis is down (the depth then reads NaN, the backlog alert 0).
  const depth = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error('queue counts timed out')), COUNTS_TIMEOUT_MS)),
    );
    try {
      const all = await Promise.race([Promise.all(queues.map((name) => queue.counts(name))), timeout]);
      return all.reduce((total, counts) => total + counts.waiting + counts.delayed + counts.active, 0);
    } finally {
      clearTimeout(timer);
    }
  };
  new Gauge({
    name: 'batch_queue_depth',
    help: 'Batch jobs waiting, delayed or running',
    registers: [registry],
    async collect() {
      this.set(await depth().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: 'batch_failure_rate',
    help: `Failed share of the last ${WINDOW} batch items run on this instance`,
    registers: [registry],
    collect() {
      this.set(failureRate());
    },
  });
  new Gauge({
    name: 'batch_alert',
    help: `1 when an alert threshold is crossed: failure_rate (above ${BATCH_ALERT_FAILURE_RATE * 100} %), backlog (above ${BATCH_ALERT_BACKLOG} queued jobs)`,
    labelNames: ['alert'],
    registers: [registry],
    async collect() {
      this.set({ alert: 'failure_rate' }, failureRate() > BATCH_ALERT_FAILURE_RATE ? 1 : 0);
      const backlog = await depth().catch(() => 0);
      this.set({ alert: 'backlog' }, backlog > BATCH_ALERT_BACKLOG ? 1 : 0);
    },
  });
  return {
    async alerts() {
      const rate = failureRate();
      const backlog = await depth().catch(() => Number.NaN);
      return [
        { name: 'batch.failure_rate', firing: rate > BATCH_ALERT_FAILURE_RATE, value: rate, threshold: BATCH_ALERT_FAILURE_RATE },
        // An unknown depth (queue unreachable) is not a backlog; the redis check reports the outage.
        {
          name: 'batch.backlog',
          firing: backlog > BATCH_ALERT_BACKLOG,
          value: Number.isNaN(backlog) ? -1 : backlog,
          threshold: BATCH_ALERT_BACKLOG,
        },
      ];
    },
    itemFinished(outcome, seconds) {
      items.inc({ outcome });
      duration.observe(seconds);
      const failed = outcome === 'failed';
      recent.push(failed);
      if (failed) failedInWindow++;
      if (recent.length > WINDOW && recent.shift()) failedInWindow--;
    },
  };
}
