import type { EventEmitter } from 'node:events';
import {
  START,
  comparePositions,
  type ReadAllOptions,
  type ReadAllResult,
  type SubscribeToAllOptions,
  type Subscription,
} from '../../ports/event-store.js';

export interface PollingSource {
  readonly readAll: (options: ReadAllOptions) => Promise<ReadAllResult>;
  /** Emits 'appended' after a local append, to skip the wait. */
  readonly appended?: EventEmitter;
  readonly pollIntervalMs: number;
}

/**
 * Catch-up then live, by paging readAll. Order and completeness come from readAll itself (it only returns
 * events below the visibility horizon), so tailing it never skips an event that commits late.
 */
export function pollingSubscription(source: PollingSource, options: SubscribeToAllOptions): Subscription {
  let stopped = false;
  let wake: (() => void) | undefined;
  const onAppended = () => wake?.();
  source.appended?.on('appended', onAppended);

  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, source.pollIntervalMs);
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
    try {
      while (!stopped) {
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
          if (!stopped) await sleep();
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
