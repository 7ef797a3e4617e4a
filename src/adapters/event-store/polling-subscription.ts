import type { EventEmitter } from 'node:events';
import {
  START,
  comparePositions,
  type Position,
  type ReadAllOptions,
  type ReadAllResult,
  type SubscribeToAllOptions,
  type Subscription,
} from '../../ports/event-store.js';

export interface PollingSource {
  readonly readAll: (options: ReadAllOptions) => Promise<ReadAllResult>;
  /** Emits 'appended' with the position after a local append, to skip the wait. */
  readonly appended?: EventEmitter;
  readonly pollIntervalMs: number;
}

/** The first look again at a local append that the horizon still hides; doubled up to the poll interval. */
const FIRST_RETRY_MS = 1;

/**
 * Catch-up then live, by paging readAll. Order and completeness come from readAll itself (it only returns
 * events below the visibility horizon), so tailing it never skips an event that commits late.
 *
 * A local append wakes the subscription at once, also one that lands while a read is under way (that read
 * may have missed it). An append that a read still does not see (an older transaction of this database,
 * another consumer's checkpoint or a job claim, was in flight and holds the horizon back) is looked for
 * again after 1, 2, 4 … ms rather than a whole poll interval later.
 */
export function pollingSubscription(source: PollingSource, options: SubscribeToAllOptions): Subscription {
  let stopped = false;
  let wake: (() => void) | undefined;
  let signalled = false; // a local append since the current read began
  let appendedUpTo: Position | undefined; // the newest local append's position
  const onAppended = (position?: Position) => {
    if (position && (!appendedUpTo || comparePositions(position, appendedUpTo) > 0)) appendedUpTo = position;
    signalled = true;
    wake?.();
  };
  source.appended?.on('appended', onAppended);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signalled || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function run(): Promise<void> {
    let checkpoint = options.after ?? START;
    let caughtUp = false;
    let retryMs = FIRST_RETRY_MS;
    try {
      while (!stopped) {
        signalled = false;
        const page = await source.readAll({
          after: checkpoint,
          maxCount: options.batchSize ?? 500,
          ...(options.filter ? { filter: options.filter } : {}),
        });
        if (stopped) break;
        if (page.events.length > 0 || comparePositions(page.lastPosition, checkpoint) > 0) {
          await options.onBatch(page.events, page.lastPosition);
          checkpoint = page.lastPosition;
        }
        if (page.isEnd) {
          if (!caughtUp) {
            caughtUp = true;
            options.onCaughtUp?.();
          }
          if (appendedUpTo && comparePositions(appendedUpTo, checkpoint) > 0) {
            await sleep(Math.min(retryMs, source.pollIntervalMs));
            retryMs = Math.min(retryMs * 2, source.pollIntervalMs);
          } else {
            retryMs = FIRST_RETRY_MS;
            await sleep(source.pollIntervalMs);
          }
        }
      }
    } finally {
      source.appended?.off('appended', onAppended);
    }
  }

  const done = run();
  done.catch(() => undefined); // observed through `done`; never an unhandled rejection
  return {
    done,
    async stop() {
      stopped = true;
      wake?.();
      await done.catch(() => undefined);
    },
  };
}
