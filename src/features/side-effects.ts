// The side-effects switch: one generic gate in front of everything that acts outside the service
// (process managers, job workers, background tasks such as schedulers). A store restored from a backup
// carries a pause (adapters/event-store/side-effects-pause.ts); a service started on it projects and
// serves reads, and starts the gated parts only when an operator resumes it (POST /v1/admin/side-effects/resume).
import { clearSideEffectsPause, readSideEffectsPause, type SideEffectsPause } from '../adapters/event-store/side-effects-pause.js';
import type { ReadinessCheck } from '../http/operations/index.js';
import type { SideEffectsState } from '../http/operations/side-effects-routes.js';
import type { SqlDatabase } from '../ports/sql-database.js';

export interface SideEffectsSwitch {
  state(): SideEffectsState;
  resume(): Promise<SideEffectsState>;
  /** Fails while paused, so that `/ready` says so and what to do. */
  readonly readinessCheck: ReadinessCheck;
}

/**
 * Starts the gated parts now, or once resumed when the store is paused. `db` is the SQL store (absent on
 * EventStoreDB, which a restore of ours never writes: never paused).
 */
export async function createSideEffectsSwitch(
  db: SqlDatabase | undefined,
  start: () => Promise<void>,
  logger: { warn(object: object, message: string): void; info(object: object, message: string): void },
): Promise<SideEffectsSwitch> {
  let pause: SideEffectsPause | undefined = db ? await readSideEffectsPause(db) : undefined;
  let resuming: Promise<void> | undefined;
  if (pause)
    logger.warn({ reason: pause.reason }, 'side effects paused (a restored store): POST /v1/admin/side-effects/resume to start them');
  else await start();
  const state = (): SideEffectsState => (pause ? { state: 'paused', reason: pause.reason, since: pause.since } : { state: 'running' });
  return {
    state,
    async resume() {
      if (pause && db) {
        resuming ??= (async () => {
          await clearSideEffectsPause(db);
          await start();
          logger.info({ reason: pause!.reason }, 'side effects resumed');
          pause = undefined;
        })().finally(() => (resuming = undefined));
        await resuming;
      }
      return state();
    },
    readinessCheck: {
      name: 'side-effects',
      check: async () => {
        if (pause) throw new Error(`paused: ${pause.reason}; POST /v1/admin/side-effects/resume once this instance should act`);
      },
    },
  };
}
