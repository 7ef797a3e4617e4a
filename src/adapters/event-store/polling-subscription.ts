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
  /** The wait for events nobody announced; a function when it changes (slow while LISTEN is up). */
  readonly pollIntervalMs: number | (() => number);
  /** Where a failed read is logged when the subscriber passes no `onReadError`. */
  readonly logger?: { warn(obj: object, msg?: string): void } | undefined;
}

/**
 * The first look again at a local append that the horizon still hides; doubled up to 100 ms (or the poll
 * interval). Only while such an append is hidden (an older transaction holds the horizon back), so it costs
 * nothing at idle; a longer cap made a reader wait up to a second after the holder ended, past a short
 * read-your-writes timeout.
 */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 100;
/** After a failed read: 50 ms, doubled per failure in a row, at most 5 s. */
export const FIRST_READ_RETRY_MS = 50;
export const MAX_READ_RETRY_MS = 5_000;

/**
 * Catch-up then live, by paging readAll. Order and completeness come from readAll itself (it only returns
 * events below the visibility horizon), so tailing it never skips an event that commits late.
 *
 * A local append wakes the subscription at once, also one that lands while a read is under way (that read
 * may have missed it). An append that a read still does not see (an older transaction of this database,
 * another consumer's checkpoint or a job claim, was in flight and holds the horizon back) is looked for
 * again after 1, 2, 4 … ms rather than a whole poll interval later.
 *
 * A read that fails (a lost connection, a restarting server) does not end the subscription: it is reported
 * and tried again from the same checkpoint after a bounded backoff. Only the consumer's own failure ends it.
 */
export function pollingSubscription(source: PollingSource, options: SubscribeToAllOptions): Subscription {
  let stopped = false;
  // The current wait: ended by stop(), and by a local append unless it is a backoff after a failed read.
  let waiting: { readonly done: () => void; readonly byAppend: boolean } | undefined;
  let signalled = false; // a local append since the current read began
  let appendedUpTo: Position | undefined; // the newest local append's position
  const onAppended = (position?: Position) => {
    if (position && (!appendedUpTo || comparePositions(position, appendedUpTo) > 0)) appendedUpTo = position;
    signalled = true;
    if (waiting?.byAppend) waiting.done();
  };
  source.appended?.on('appended', onAppended);

  const sleep = (ms: number, byAppend = true) =>
    new Promise<void>((resolve) => {
      if ((byAppend && signalled) || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        waiting = undefined;
        resolve();
      }
      waiting = { done, byAppend };
    });

  const reportReadError = (error: unknown, retryInMs: number) => {
    try {
      if (options.onReadError) options.onReadError(error, retryInMs);
      else source.logger?.warn({ err: error, retryInMs }, 'reading the event log failed; the subscription retries');
    } catch {
      // a failing report must not end the subscription it reports on
    }
  };

  async function run(): Promise<void> {
    let checkpoint = options.after ?? START;
    let caughtUp = false;
    let retryMs = FIRST_RETRY_MS;
    let readRetryMs = FIRST_READ_RETRY_MS;
    const pollMs = () => (typeof source.pollIntervalMs === 'function' ? source.pollIntervalMs() : source.pollIntervalMs);
    try {
      while (!stopped) {
        signalled = false;
        let page: ReadAllResult;
        try {
          page = await source.readAll({
            after: checkpoint,
            maxCount: options.batchSize ?? 500,
            ...(options.filter ? { filter: options.filter } : {}),
          });
        } catch (error) {
          if (stopped) break;
          reportReadError(error, readRetryMs);
          await sleep(readRetryMs, false);
          readRetryMs = Math.min(readRetryMs * 2, MAX_READ_RETRY_MS);
          continue;
        }
        readRetryMs = FIRST_READ_RETRY_MS;
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
            await sleep(Math.min(retryMs, pollMs()));
            retryMs = Math.min(retryMs * 2, pollMs(), MAX_RETRY_MS);
          } else {
            retryMs = FIRST_RETRY_MS;
            await sleep(pollMs());
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
      waiting?.done();
      await done.catch(() => undefined);
    },
  };
}
