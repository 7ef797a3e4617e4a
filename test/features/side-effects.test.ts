// The side-effects switch's watch (#15.10): a paused instance on PostgreSQL reads the pause row every
// checkEveryMs, starts its gated parts once when the row is gone (cleared by another instance), and then
// reads it no more; on PGlite (one process) it never looks. Fake timers and a fake database: no waiting.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSideEffectsSwitch } from '../../src/features/side-effects.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';

const logger = { warn: () => undefined, info: () => undefined };

/** A database holding (or not) the pause row; counts the reads of it. */
function fakeDatabase(dialect: 'postgres' | 'pglite') {
  const store = { paused: true, reads: 0 };
  const db = {
    dialect,
    async query(text: string) {
      if (text.includes('to_regclass')) return [{ exists: true }];
      if (text.startsWith('SELECT reason')) {
        store.reads++;
        return store.paused ? [{ reason: 'restored from backup b-1', since: new Date(0) }] : [];
      }
      if (text.startsWith('DELETE')) store.paused = false;
      return [];
    },
  } as unknown as SqlDatabase;
  return { db, store };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('side-effects switch', () => {
  it('on PostgreSQL: starts once when another instance cleared the pause, then stops looking', async () => {
    vi.useFakeTimers();
    const { db, store } = fakeDatabase('postgres');
    const start = vi.fn(async () => undefined);
    const gate = await createSideEffectsSwitch(db, start, logger, { checkEveryMs: 1000 });
    expect(gate.state().state).toBe('paused');
    const readsAtStart = store.reads;
    await vi.advanceTimersByTimeAsync(3000);
    expect(store.reads - readsAtStart).toBe(3);
    expect(start).not.toHaveBeenCalled();

    store.paused = false; // another instance resumed
    await vi.advanceTimersByTimeAsync(1000);
    expect(start).toHaveBeenCalledTimes(1);
    expect(gate.state().state).toBe('running');
    const readsWhenRunning = store.reads;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.reads).toBe(readsWhenRunning);
    expect(vi.getTimerCount()).toBe(0);
    // A resume called here afterwards starts nothing twice.
    await gate.resume();
    expect(start).toHaveBeenCalledTimes(1);
  });

  it('a resume on this instance ends the watch; close ends it too', async () => {
    vi.useFakeTimers();
    const resumed = fakeDatabase('postgres');
    const start = vi.fn(async () => undefined);
    const gate = await createSideEffectsSwitch(resumed.db, start, logger, { checkEveryMs: 1000 });
    expect((await gate.resume()).state).toBe('running');
    expect(resumed.store.paused).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(start).toHaveBeenCalledTimes(1);

    const closed = fakeDatabase('postgres');
    const other = await createSideEffectsSwitch(closed.db, start, logger, { checkEveryMs: 1000 });
    other.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('on PGlite it does not look (one process holds the store)', async () => {
    vi.useFakeTimers();
    const { db, store } = fakeDatabase('pglite');
    const gate = await createSideEffectsSwitch(db, async () => undefined, logger, { checkEveryMs: 1000 });
    const reads = store.reads;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.reads).toBe(reads);
    expect(gate.state().state).toBe('paused');
  });
});
