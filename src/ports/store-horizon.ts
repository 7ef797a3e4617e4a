// The visibility horizon of a SQL event store, for the operations endpoints (see
// adapters/event-store/postgres-horizon.ts for how PostgreSQL measures it).
import type { Position } from './event-store.js';

export interface StoreHorizon {
  /** Age of the oldest open transaction holding the horizon back; 0 when none. */
  readonly oldestTransactionSeconds: number;
  /** Committed events above the horizon: acknowledged to writers, not yet delivered to readers (capped). */
  readonly eventsAboveHorizon: number;
}

export interface HorizonProbe {
  horizon(): Promise<StoreHorizon>;
  /** The newest committed event's position, visible to readers or not yet. */
  acknowledgedHead(): Promise<Position | undefined>;
}
