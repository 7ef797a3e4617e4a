// The polling subscription's wake-ups, on a scripted log: with a poll interval of a minute, anything that
// arrives within the test's seconds arrived because a local append woke the subscription, not by the poll.
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FIRST_READ_RETRY_MS, MAX_READ_RETRY_MS, pollingSubscription } from '../../../src/adapters/event-store/polling-subscription.js';
import type { Position, ReadAllOptions, ReadAllResult, RecordedEvent } from '../../../src/ports/event-store.js';
import { START, comparePositions } from '../../../src/ports/event-store.js';

const MINUTE = 60_000;
const at = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });
const recorded = (n: number): RecordedEvent => ({
  id: `e${n}`,
  type: 'Counted',
  streamId: 'counted-1',
  revision: BigInt(n - 1),
  position: at(n),
  data: {},
  metadata: {},
  recordedAt: new Date(),
});

/** A log whose visible part the test controls: `visible` events are readable, the rest are hidden. */
function scriptedLog() {
  const events: RecordedEvent[] = [];
  const state = { visible: 0, reads: 0, failures: 0, duringRead: undefined as (() => void) | undefined };
  const appended = new EventEmitter();
  return {
    state,
    appended,
    /** An append committed in this process: emitted as the event store does. */
    append(visible: boolean, withPosition = true) {
      const event = recorded(events.length + 1);
      events.push(event);
      if (visible) state.visible = events.length;
      if (withPosition) appended.emit('appended', event.position);
      else appended.emit('appended');
      return event;
    },
    async readAll(options: ReadAllOptions): Promise<ReadAllResult> {
      state.reads++;
      if (state.failures > 0) {
        state.failures--;
        throw new Error('connection terminated unexpectedly');
      }
      const after = options.after ?? START;
      const page = events.slice(0, state.visible).filter((e) => comparePositions(e.position, after) > 0);
      const hook = state.duringRead;
      state.duringRead = undefined;
      hook?.(); // something that happens while this read's snapshot is already taken
      const lastPosition = page.at(-1)?.position ?? after;
      return { events: page, lastPosition, isEnd: true };
    },
  };
}

function subscribe(log: ReturnType<typeof scriptedLog>) {
  const seen: string[] = [];
  let caughtUp!: () => void;
  const ready = new Promise<void>((resolve) => (caughtUp = resolve));
  const subscription = pollingSubscription(
    { readAll: (o) => log.readAll(o), appended: log.appended, pollIntervalMs: MINUTE },
    { onBatch: async (events) => void seen.push(...events.map((e) => e.id)), onCaughtUp: () => caughtUp() },
  );
  return { seen, ready, subscription };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('polling subscription wake-ups', () => {
  it('an append during a read (which that read missed) wakes the subscription again at once', async () => {
    const log = scriptedLog();
    const { seen, ready, subscription } = subscribe(log);
    try {
      await ready;
      // The wake arrives while the read is under way, not while the subscription sleeps. Without positions,
      // so that only the wake itself (not the look-again for a hidden append) can bring the events.
      log.state.duringRead = () => log.append(true, false);
      log.append(false, false); // wakes the subscription; its read misses this one and the one appended meanwhile
      await until(() => seen.length === 2);
      expect(seen).toEqual(['e1', 'e2']);
    } finally {
      await subscription.stop();
    }
  });

  it('looks again soon for a local append that the horizon still hides, and then sleeps until woken', async () => {
    const log = scriptedLog();
    const { seen, ready, subscription } = subscribe(log);
    try {
      await ready;
      log.append(false); // committed, but an older transaction holds the horizon below it
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([]);
      const readsWhileHidden = log.state.reads;
      expect(readsWhileHidden).toBeGreaterThan(2); // retried, with backoff (1, 2, 4 … ms)
      expect(readsWhileHidden).toBeLessThan(40);
      log.state.visible = 1; // the older transaction ended: no further append, no wake
      await until(() => seen.length === 1);
      const reads = log.state.reads;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(log.state.reads).toBe(reads); // caught up with every local append: back to the poll interval
    } finally {
      await subscription.stop();
    }
  });

  // #15.26: a read that throws used to end the subscription, and with nothing watching `done` it ended
  // silently: the consumer simply stopped catching up.
  it('retries a failed read from its checkpoint with a growing, bounded backoff, reporting each failure', async () => {
    const log = scriptedLog();
    const seen: string[] = [];
    const reported: { message: string; retryInMs: number }[] = [];
    log.append(true);
    log.state.failures = 3;
    const subscription = pollingSubscription(
      { readAll: (o) => log.readAll(o), appended: log.appended, pollIntervalMs: MINUTE },
      {
        onBatch: async (events) => void seen.push(...events.map((e) => e.id)),
        onReadError: (error, retryInMs) => reported.push({ message: (error as Error).message, retryInMs }),
      },
    );
    let ended = false;
    void subscription.done.finally(() => (ended = true));
    try {
      await until(() => seen.length === 1);
      expect(reported).toEqual([
        { message: 'connection terminated unexpectedly', retryInMs: FIRST_READ_RETRY_MS },
        { message: 'connection terminated unexpectedly', retryInMs: FIRST_READ_RETRY_MS * 2 },
        { message: 'connection terminated unexpectedly', retryInMs: FIRST_READ_RETRY_MS * 4 },
      ]);
      // Still live: a later append is delivered, and only once.
      log.append(true);
      await until(() => seen.length === 2);
      expect(seen).toEqual(['e1', 'e2']);
      expect(ended).toBe(false);
    } finally {
      await subscription.stop();
    }
  });

  it('logs a failed read through the store logger when the subscriber has no hook, and stops during a backoff', async () => {
    const log = scriptedLog();
    const warnings: object[] = [];
    log.state.failures = 1_000;
    const subscription = pollingSubscription(
      { readAll: (o) => log.readAll(o), appended: log.appended, pollIntervalMs: MINUTE, logger: { warn: (obj) => warnings.push(obj) } },
      { onBatch: async () => undefined },
    );
    await until(() => warnings.length >= 2);
    expect(warnings[0]).toMatchObject({ err: expect.any(Error), retryInMs: FIRST_READ_RETRY_MS });
    await subscription.stop(); // resolves although the subscription is waiting out a backoff
    await expect(subscription.done).resolves.toBeUndefined();
  });

  it('property: backoff after failures in a row doubles from the first delay and never exceeds the bound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), async (failures) => {
        const delays: number[] = [];
        const log = scriptedLog();
        log.append(true);
        log.state.failures = failures;
        const seen: string[] = [];
        vi.useFakeTimers();
        try {
          const subscription = pollingSubscription(
            { readAll: (o) => log.readAll(o), pollIntervalMs: MINUTE },
            {
              onBatch: async (events) => void seen.push(...events.map((e) => e.id)),
              onReadError: (_error, retryInMs) => delays.push(retryInMs),
            },
          );
          while (seen.length === 0) await vi.advanceTimersByTimeAsync(MAX_READ_RETRY_MS);
          expect(delays).toEqual(Array.from({ length: failures }, (_, i) => Math.min(FIRST_READ_RETRY_MS * 2 ** i, MAX_READ_RETRY_MS)));
          const stopped = subscription.stop();
          await vi.advanceTimersByTimeAsync(MINUTE);
          await stopped;
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 12 },
    );
  });

  it('ends, rejecting done, when the consumer fails (the runner then resubscribes from its checkpoint)', async () => {
    const log = scriptedLog();
    log.append(true);
    const subscription = pollingSubscription(
      { readAll: (o) => log.readAll(o), appended: log.appended, pollIntervalMs: MINUTE },
      {
        onBatch: async () => {
          throw new Error('projector failed');
        },
      },
    );
    await expect(subscription.done).rejects.toThrow('projector failed');
  });
});
