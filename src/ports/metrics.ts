// The service's Prometheus metrics, one registry per service instance (tests build many). The HTTP layer
// records and exposes them; adapters/observability/metrics.ts creates them.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly appendDuration: Histogram<'outcome'>;
  readonly appendedEvents: Counter;
  readonly projectionEventsBehind: Gauge<'projection'>;
  readonly projectionSecondsBehind: Gauge<'projection'>;
  readonly projectionEventsApplied: Counter<'projection'>;
  readonly horizonOldestTransactionSeconds: Gauge;
  readonly horizonEventsAbove: Gauge;
  readonly cacheRequests: Counter<'cache' | 'result'>;
  /** Work set aside after failing every attempt (kind: event | job), read at scrape time. */
  readonly parkedItems: Gauge<'kind'>;
}
