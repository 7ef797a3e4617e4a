// The state of a batch: its status machine and one record per item.
//
//   scheduled ──► running ──► completed
//      │            │  ▲ ───► partially_completed ──┐
//      │            │  │ ───► failed ───────────────┤
//      │            │  └────── (RetryBatch) ◄───────┘
//      │            ▼
//      │        cancelling ──► cancelled
//      └──────────────────────► cancelled           (cancel before anything was queued)
//
// completed and cancelled are final. partially_completed and failed are terminal too, but RetryBatch
// takes them back to running for their failed items. Undo never changes this batch's status: it starts
// a new batch (operation 'restore', `undoOf` this one), so an undo has its own status and progress.
import type { TemplateStatus } from '../templates/template-content.js';
import type { BatchOperation, BatchOptions } from './batch-plan.js';

export const BATCH_STATUSES = ['scheduled', 'running', 'completed', 'partially_completed', 'failed', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export const BATCH_STATUS_TRANSITIONS: Readonly<Record<BatchStatus, readonly BatchStatus[]>> = {
  scheduled: ['running', 'cancelled'],
  running: ['completed', 'partially_completed', 'failed', 'cancelling'],
  cancelling: ['cancelled'],
  completed: [],
  partially_completed: ['running'],
  failed: ['running'],
  cancelled: [],
};

/** Statuses in which no item runs and none will unless retried. */
export const FINISHED_BATCH_STATUSES: readonly BatchStatus[] = ['completed', 'partially_completed', 'failed', 'cancelled'];

/**
 * pending: not yet in an enqueued chunk; queued: in an enqueued chunk, no final outcome yet (a retryable
 * failure keeps it queued); the rest are outcomes, exactly one per item at the end.
 */
export const ITEM_STATUSES = ['pending', 'queued', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type BatchItemStatus = (typeof ITEM_STATUSES)[number];
export const ITEM_OUTCOMES: readonly BatchItemStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

/** A template's state on one side of an item: its content version, status and parent. */
export type TemplateMark = { version: number; status: TemplateStatus; parentTemplateId: string | null };

export type BatchItemState = {
  templateId: string;
  status: BatchItemStatus;
  /** The revision the worker must find (If-Match): the item's own, or the newer one a merge/override
   * resolved to; null for create and for "any" (an override of a version conflict). */
  runAgainstRevision: number | null;
  /** Attempts recorded in the current round (RetryBatch starts a new round at 0). */
  attempts: number;
  /** Why it failed or was skipped; null otherwise. */
  reason: string | null;
  /** Set on success: the stream revision before (null: the batch created it) and after. */
  revisionBefore: number | null;
  revision: number | null;
  before: TemplateMark | null;
  after: TemplateMark | null;
};

export type BatchItemCounts = Record<BatchItemStatus, number>;

export const emptyCounts = (): BatchItemCounts => ({ pending: 0, queued: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });

// Items live in a persistent table: blocks of ITEM_BLOCK records, copied on write, so that folding a
// 100,000-item batch (one event per outcome) costs a block per event instead of the whole list.
const ITEM_BLOCK = 256;
export type ItemTable = readonly (readonly BatchItemState[])[];

export function itemTableOf(items: readonly BatchItemState[]): ItemTable {
  const blocks: BatchItemState[][] = [];
  for (let i = 0; i < items.length; i += ITEM_BLOCK) blocks.push(items.slice(i, i + ITEM_BLOCK));
  return blocks;
}

export function itemAt(table: ItemTable, index: number): BatchItemState | undefined {
  return table[Math.floor(index / ITEM_BLOCK)]?.[index % ITEM_BLOCK];
}

/** A new table with `updates` applied (index → new record); untouched blocks are shared. */
export function withItems(table: ItemTable, updates: ReadonlyMap<number, BatchItemState>): ItemTable {
  const blocks = [...table];
  const copied = new Set<number>();
  for (const [index, item] of updates) {
    const b = Math.floor(index / ITEM_BLOCK);
    const block = blocks[b];
    if (block === undefined) continue;
    const writable = copied.has(b) ? (block as BatchItemState[]) : [...block];
    copied.add(b);
    writable[index % ITEM_BLOCK] = item;
    blocks[b] = writable;
  }
  return blocks;
}

export function itemsOf(table: ItemTable): BatchItemState[] {
  return table.flat();
}

export type LiveBatchState = {
  status: BatchStatus;
  batchId: string;
  tenantId: string;
  requestedBy: string;
  operation: BatchOperation;
  options: BatchOptions;
  total: number;
  /** The batch this one undoes (operation 'restore'), or null. */
  undoOf: string | null;
  /** The undo batch planned for this one, or null. */
  undoneBy: string | null;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  items: ItemTable;
  counts: BatchItemCounts;
  /** Retry rounds so far (0 for the first run); chunks are planned per round. */
  round: number;
  /** The current round's chunks: item indexes in order (see planChunks). */
  chunks: readonly (readonly number[])[];
  /** Chunks of the current round enqueued so far, in order. */
  chunksEnqueued: number;
};

export type BatchState = { status: 'absent' } | LiveBatchState;
