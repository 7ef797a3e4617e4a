// The polling subscription's wake-ups, on a scripted log: with a poll interval of a minute, anything that
// arrives within the test's seconds arrived because a local append woke the subscription, not by the poll.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { pollingSubscription } from '../../../src/adapters/event-store/polling-subscription.js';
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
  const state = { visible: 0, reads: 0, duringRead: undefined as (() => void) | undefined };
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
});
