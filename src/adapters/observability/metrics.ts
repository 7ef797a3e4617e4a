// Prometheus metrics (prom-client), one registry per service instance so tests can build many apps.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics } from '../../ports/metrics.js';
import type { ReadCacheCounters } from '../cache/cache-aside.js';

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    appendDuration: new Histogram({
      name: 'event_store_append_duration_seconds',
      help: 'Latency of event store appends',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    appendedEvents: new Counter({
      name: 'event_store_appended_events_total',
      help: 'Events appended by this instance',
      registers: [registry],
    }),
    projectionEventsBehind: new Gauge({
      name: 'projection_events_behind',
      help: 'Events in the log after the projection checkpoint',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionSecondsBehind: new Gauge({
      name: 'projection_seconds_behind',
      help: 'Age of the oldest event not yet projected',
      labelNames: ['projection'],
      registers: [registry],
    }),
    projectionEventsApplied: new Counter({
      name: 'projection_events_applied_total',
      help: 'Events applied by projections on this instance',
      labelNames: ['projection'],
      registers: [registry],
    }),
    horizonOldestTransactionSeconds: new Gauge({
      name: 'event_store_horizon_oldest_transaction_seconds',
      help: 'Age of the oldest open transaction on the database server; subscribers see no event committed after it started',
      registers: [registry],
    }),
    horizonEventsAbove: new Gauge({
      name: 'event_store_events_above_horizon',
      help: 'Committed events that subscribers cannot see yet because an older transaction is still open',
      registers: [registry],
    }),
    parkedItems: new Gauge({
      name: 'parked_items',
      help: 'Events (kind="event") and jobs (kind="job") parked after failing every attempt; an operator retries them (/v1/admin/parked)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    cacheRequests: new Counter({
      name: 'cache_requests_total',
      help: 'Read cache lookups by result',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
  };
}

/** The read cache's hit/miss/error counters, as `cache_requests_total{cache, result}` (series start at 0). */
export function cacheCounters(metrics: Pick<Metrics, 'cacheRequests'>, cache: 'redis' | 'memory'): ReadCacheCounters {
  const [hit, miss, error] = (['hit', 'miss', 'error'] as const).map((result) => {
    const child = metrics.cacheRequests.labels({ cache, result });
    child.inc(0);
    return child;
  }) as [Counter.Internal, Counter.Internal, Counter.Internal];
  return { hit: () => hit.inc(), miss: () => miss.inc(), error: () => error.inc() };
}

/**
 * The in-process read cache's size as gauges read at scrape time: `read_cache_size_bytes`,
 * `read_cache_entries` and its bound `read_cache_max_bytes` (label cache="memory").
 */
export function readCacheSizeGauges(
  metrics: Pick<Metrics, 'registry'>,
  size: () => { entries: number; bytes: number; maxBytes: number },
): void {
  const gauge = (name: string, help: string, read: (s: ReturnType<typeof size>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cache'],
      registers: [metrics.registry],
      collect() {
        this.set({ cache: 'memory' }, read(size()));
      },
    });
  gauge('read_cache_size_bytes', 'Bytes held by the in-process read cache (upper estimate)', (s) => s.bytes);
  gauge('read_cache_entries', 'Entries held by the in-process read cache', (s) => s.entries);
  gauge('read_cache_max_bytes', 'Bound of the in-process read cache (CACHE_MAX_BYTES)', (s) => s.maxBytes);
}
