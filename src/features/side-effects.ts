// The side-effects switch: one generic gate in front of everything that acts outside the service
// (process managers, job workers, background tasks such as schedulers). A store restored from a backup
// carries a pause (adapters/event-store/side-effects-pause.ts); a service started on it projects and
// serves reads, and starts the gated parts only when an operator resumes it (POST /v1/admin/side-effects/resume,
// or `npm run resume`). Every instance on the store holds its own copy of the pause, so a paused instance
// on PostgreSQL reads the pause row again every `checkEveryMs` and starts once it is gone, whichever instance
// (or the CLI) cleared it (a slow check rather than LISTEN/NOTIFY: it runs only while paused, and a resume
// is rare); once running it stops looking (a running instance is never paused again: only a restore
// writes the row, into an empty store).
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
  logger: {
    warn(object: object, message: string): void;
    info(object: object, message: string): void;
    error?(object: object, message: string): void;
  },
  options: { checkEveryMs?: number } = {},
): Promise<SideEffectsSwitch & { close(): void }> {
  let pause: SideEffectsPause | undefined = db ? await readSideEffectsPause(db) : undefined;
  let resuming: Promise<void> | undefined;
  let watch: NodeJS.Timeout | undefined;
  let closed = false;
  const state = (): SideEffectsState => (pause ? { state: 'paused', reason: pause.reason, since: pause.since } : { state: 'running' });
  /** Starts the gated parts once (whoever asks first: this instance's resume or the watch). */
  const startOnce = (clear: boolean) => {
    resuming ??= (async () => {
      if (clear) await clearSideEffectsPause(db!);
      if (watch) clearTimeout(watch);
      watch = undefined;
      await start();
      logger.info({ reason: pause!.reason, by: clear ? 'this instance' : 'another instance or npm run resume' }, 'side effects resumed');
      pause = undefined;
    })().finally(() => (resuming = undefined));
    return resuming;
  };
  const check = async () => {
    watch = undefined;
    if (closed || !pause || resuming) return;
    try {
      if (!(await readSideEffectsPause(db!))) await startOnce(false);
    } catch (error) {
      // The database a moment away: the next check tries again.
      logger.warn({ err: error }, 'could not read the side-effects pause; checking again');
    }
    if (pause && !closed && !watch) watch = setTimeout(() => void check(), checkEveryMs).unref();
  };
  const checkEveryMs = options.checkEveryMs ?? 5000;
  if (pause) {
    logger.warn(
      { reason: pause.reason },
      'side effects paused (a restored store): POST /v1/admin/side-effects/resume (or npm run resume) to start them',
    );
    // PGlite serves this one process: no other instance or command can clear the pause meanwhile.
    if (db!.dialect === 'postgres') watch = setTimeout(() => void check(), checkEveryMs).unref();
  } else await start();
  return {
    state,
    async resume() {
      if (pause && db) await startOnce(true);
      return state();
    },
    close() {
      closed = true;
      if (watch) clearTimeout(watch);
      watch = undefined;
    },
    readinessCheck: {
      name: 'side-effects',
      check: async () => {
        if (pause) throw new Error(`paused: ${pause.reason}; POST /v1/admin/side-effects/resume once this instance should act`);
      },
    },
  };
}
