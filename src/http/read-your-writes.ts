// Read-your-writes: a command answers with the global position of its last event; a query given that
// position as `minPosition` waits (bounded) until the read models it reads have projected it.
import { z } from 'zod';
import { START, comparePositions, formatPosition, parsePosition, type EventStore, type Position } from '../ports/event-store.js';
import { ProjectionTimeoutError, type ProjectionEngine } from '../projections/projector.js';
import { HttpProblem } from './problem.js';

export const minPositionQuery = z
  .string()
  .regex(/^\d{1,20}\.\d{1,20}$/, 'must be a position as returned by a command, e.g. "1234.56"')
  .optional()
  .describe('Wait until the read model has caught up with this position (from a command response)');

export interface ReadYourWrites {
  /** Waits until `projections` have reached `minPosition`; no-op without one. */
  await(minPosition: string | undefined, projections: readonly string[]): Promise<void>;
}

/**
 * `acknowledgedHead` is the newest position the store has acknowledged to a writer. It is the visible head
 * (the default) except on the SQL store, where a transaction held open anywhere on the server keeps
 * readers below committed events (see postgres-horizon.ts).
 */
export function readYourWrites(
  engine: ProjectionEngine,
  store: EventStore,
  timeoutMs: number,
  acknowledgedHead: () => Promise<Position | undefined> = () => store.headPosition(),
): ReadYourWrites {
  return {
    async await(minPosition, projections) {
      if (minPosition === undefined) return;
      const position = parsePosition(minPosition) as Position;
      try {
        await engine.waitFor(position, { timeoutMs, projections });
      } catch (error) {
        if (!(error instanceof ProjectionTimeoutError)) throw error;
        // Checked only after the wait, and against what the store acknowledged, not what readers can see: the
        // visible head trails fresh commits while an older transaction is open, and those positions are real
        // (503 with Retry-After: they become visible once that transaction ends).
        const head = (await acknowledgedHead()) ?? START;
        if (comparePositions(position, head) > 0) {
          throw new HttpProblem(400, 'min_position.beyond_head', `minPosition is beyond the newest event (${formatPosition(head)})`, {
            errors: [{ field: 'query.minPosition', rule: 'beyond_head', message: 'no event has this position' }],
          });
        }
        throw error;
      }
    },
  };
}
