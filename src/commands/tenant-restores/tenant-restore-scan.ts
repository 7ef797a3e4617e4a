// What a tenant restore works on: the tenant's aggregates of the chosen types, found by walking the log
// (the log is the history: no read model is trusted to list them), each folded at the target and now.
import { parseStreamId } from '../../domain/tenant-streams.js';
import { categoryDecider, type CategoryEvent, type CategoryState } from '../../domain/categories/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { templateDecider, type TemplateEvent, type TemplateState } from '../../domain/templates/index.js';
import type { RestorableType } from '../../domain/tenant-restores/index.js';
import {
  START,
  StreamNotFoundError,
  comparePositions,
  formatPosition,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../ports/event-store.js';
import { upcast, type Upcasters } from '../upcasters.js';

/** A moment, or a global position (inclusive). */
export type RestoreTarget = { readonly at: Date } | { readonly position: Position };

export type FoldedAggregate =
  | {
      readonly type: 'category';
      readonly id: string;
      readonly streamId: string;
      readonly atTarget: CategoryState;
      readonly now: CategoryState;
    }
  | {
      readonly type: 'template';
      readonly id: string;
      readonly streamId: string;
      readonly atTarget: TemplateState;
      readonly now: TemplateState;
    };

const SCAN_PAGE = 2000;
const occurredAt = (event: RecordedEvent) => Date.parse(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));

const inTarget = (target: RestoreTarget) =>
  'at' in target
    ? (event: RecordedEvent) => occurredAt(event) <= target.at.getTime()
    : (event: RecordedEvent) => comparePositions(event.position, target.position) <= 0;

/** Where a scan may stop early: once it found the tenant's first event (`firstOnly`, what the POST checks
 * the target against), or once it found more than `stopAfter` streams (`truncated`: a bounded dry run). */
export interface ScanBounds {
  readonly firstOnly?: boolean;
  readonly stopAfter?: number;
}

/**
 * The streams of the tenant's aggregates (the tenant wrote their first event), in log order, and when the
 * tenant's first event of those types happened. `ids` narrows to those aggregates.
 */
export async function tenantStreams(
  store: EventStore,
  tenantId: string,
  types: readonly RestorableType[],
  ids?: ReadonlySet<string>,
  bounds: ScanBounds = {},
): Promise<{ streams: string[]; first?: { at: number; position: Position }; truncated?: true }> {
  const seen = new Set<string>();
  const streams: string[] = [];
  let first: { at: number; position: Position } | undefined;
  let after = START;
  for (;;) {
    const page = await store.readAll({ after, maxCount: SCAN_PAGE, filter: { categories: types } });
    for (const event of page.events) {
      if (seen.has(event.streamId)) continue;
      seen.add(event.streamId);
      if (event.metadata.tenantId !== tenantId) continue;
      first ??= { at: occurredAt(event), position: event.position };
      if (bounds.firstOnly) return { streams, first };
      const id = parseStreamId(event.streamId)?.id;
      if (id !== undefined && (!ids || ids.has(id))) streams.push(event.streamId);
      if (bounds.stopAfter !== undefined && streams.length > bounds.stopAfter) return { streams, first, truncated: true };
    }
    if (page.isEnd) return { streams, ...(first ? { first } : {}) };
    after = page.lastPosition;
  }
}

/** Refuses a target the log cannot answer: after now (or the head), or before the tenant's first event. */
export function assertTargetInLog(
  target: RestoreTarget,
  first: { at: number; position: Position } | undefined,
  now: Date,
  head: Position,
): void {
  const field = 'at' in target ? 'at' : 'position';
  if ('at' in target ? target.at.getTime() > now.getTime() : comparePositions(target.position, head) > 0)
    throw new RuleViolation(
      'tenant_restore.target.future',
      `${field} is after the newest event; restore to a moment that has passed`,
      'invalid',
      field,
    );
  if (!first)
    throw new RuleViolation('tenant_restore.nothing', 'the tenant has no aggregates of these types to restore', 'unprocessable', 'types');
  if ('at' in target ? target.at.getTime() < first.at : comparePositions(target.position, first.position) < 0)
    throw new RuleViolation(
      'tenant_restore.target.before_first_event',
      `${field} is before the tenant's first event (${'at' in target ? new Date(first.at).toISOString() : formatPosition(first.position)}); there is no state to restore`,
      'invalid',
      field,
    );
}

/**
 * Folds each stream at the target and now (`nowAt`: the state at that position instead, so that a retried
 * restore plans what its first attempt planned, not what it had already done). A stream whose history no longer reads from its first event
 * (soft-deleted, or truncated by a delete and later appends) cannot say what it was at the target: the
 * restore is refused whole, naming them, before anything is written.
 */
export async function foldAggregates(
  store: EventStore,
  upcasters: Upcasters | undefined,
  streams: readonly string[],
  target: RestoreTarget,
  nowAt?: Position,
): Promise<FoldedAggregate[]> {
  const keep = inTarget(target);
  const untilNow = (list: RecordedEvent[]) => (nowAt ? list.filter((event) => comparePositions(event.position, nowAt) <= 0) : list);
  const pruned: string[] = [];
  const folded: FoldedAggregate[] = [];
  const read = async (streamId: string) => {
    try {
      return (await store.readStream(streamId)).map((event) => upcast(event, upcasters));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
  };
  // A few reads in flight: the store serves them concurrently, the order of the result is the streams'.
  const all = new Array<RecordedEvent[] | undefined>(streams.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, streams.length) }, async () => {
      for (let i = next++; i < streams.length; i = next++) all[i] = await read(streams[i]!);
    }),
  );
  streams.forEach((streamId, index) => {
    const whole = all[index];
    if (!whole || whole[0]?.revision !== 0n) {
      pruned.push(streamId);
      return;
    }
    const events = untilNow(whole);
    // A prefix, up to the first event past the target: a state the aggregate really had.
    const cut = events.findIndex((event) => !keep(event));
    const prefix = cut === -1 ? events : events.slice(0, cut);
    const { id, category } = parseStreamId(streamId)!;
    if (category === 'category') {
      const fold = (list: readonly RecordedEvent[]) =>
        list.reduce<CategoryState>(
          (s, e) => categoryDecider.evolve(s, { type: e.type, data: e.data } as CategoryEvent),
          categoryDecider.initialState(),
        );
      folded.push({ type: 'category', id, streamId, atTarget: fold(prefix), now: fold(events) });
    } else {
      const fold = (list: readonly RecordedEvent[]) =>
        list.reduce<TemplateState>(
          (s, e) => templateDecider.evolve(s, { type: e.type, data: e.data } as TemplateEvent),
          templateDecider.initialState(),
        );
      folded.push({ type: 'template', id, streamId, atTarget: fold(prefix), now: fold(events) });
    }
  });
  if (pruned.length > 0) {
    const named = pruned.slice(0, 10).join(', ') + (pruned.length > 10 ? ` and ${pruned.length - 10} more` : '');
    throw new RuleViolation(
      'tenant_restore.log_pruned',
      `the history of ${pruned.length} aggregate(s) was pruned (deleted or truncated streams: ${named}); their state at the target cannot be known. Narrow the restore with ids, or restore from a backup`,
      'conflict',
    );
  }
  return folded;
}
