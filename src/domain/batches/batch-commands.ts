import type { BatchItem, BatchPlanInput } from './batch-plan.js';
import type { BatchSnapshot } from './batch-snapshot.js';
import type { TemplateMark } from './batch-state.js';

/** What a worker reports for one item. `attempt` counts from 1 within the current round. */
export type ItemOutcomeReport =
  | {
      index: number;
      outcome: 'succeeded';
      attempt: number;
      revisionBefore: number | null;
      revision: number;
      before: TemplateMark | null;
      after: TemplateMark | null;
    }
  | { index: number; outcome: 'failed'; attempt: number; reason: string; retryable: boolean };

// Every command carries `now` (ISO-8601) from the caller's clock: the domain has none.
export type BatchCommand =
  /** A client's batch. `maxItems` is the tenant's limit (BATCH_MAX_ITEMS); `snapshot` the templates involved. */
  | {
      type: 'StartBatch';
      data: {
        batchId: string;
        tenantId: string;
        requestedBy: string;
        request: BatchPlanInput;
        maxItems: number;
        snapshot: BatchSnapshot;
        now: string;
      };
    }
  /** The undo of `undoOf`: its restore items come from that batch's BatchUndoPlanned. */
  | {
      type: 'StartUndoBatch';
      data: { batchId: string; tenantId: string; requestedBy: string; undoOf: string; items: BatchItem[]; options?: unknown; now: string };
    }
  /** A scheduled batch whose time has come. */
  | { type: 'BeginScheduledBatch'; data: { now: string } }
  /** Chunks of the current round, in order; enqueuing one again is a no-op. */
  | { type: 'EnqueueChunk'; data: { chunkIndex: number; now: string } }
  | { type: 'RecordItemOutcomes'; data: { outcomes: ItemOutcomeReport[]; now: string } }
  /** While cancelling: queued items the process manager removed from the queue before they ran. */
  | { type: 'WithdrawQueuedItems'; data: { indexes: number[]; now: string } }
  | { type: 'CancelBatch'; data: { requestedBy: string; reason?: string | null; now: string } }
  /** Retry the given failed items, or all failed items when `indexes` is null/omitted. */
  | { type: 'RetryBatch'; data: { requestedBy: string; indexes?: number[] | null; now: string } }
  /**
   * Plan the undo of this batch. `currentRevisions`: each changed template's stream revision now (a
   * template missing from it counts as changed). `override`: restore even templates changed since.
   */
  | {
      type: 'UndoBatch';
      data: {
        undoBatchId: string;
        requestedBy: string;
        currentRevisions: Readonly<Record<string, number>>;
        override?: boolean;
        now: string;
      };
    };
