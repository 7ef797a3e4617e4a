// Set-wide rules (a unique name per tenant) without reading a read model: one small stream per
// (scope, tenant, normalized value) whose last event says who holds the value. Claims append with the exact
// revision that was read (or `no_stream`), so of two concurrent claims one loses with
// WrongExpectedRevisionError, on PostgreSQL and on EventStoreDB alike.
//
// A command claims first and appends to its aggregate second; the two appends are not atomic. A crash in
// between leaves a claim its owner does not back:
// - the same owner (a retried request) re-uses its claim: claiming again is a no-op;
// - anyone else may take it over once it is older than ORPHANED_CLAIM_GRACE_MS by the injected clock and
//   the owner does not hold the value (`stillHolds`; by default: the owner stream does not exist). The
//   grace period covers a live command between its claim and its append.
// The same check frees a value whose release was lost (a crash after a rename or archive appended).
import { createHash } from 'node:crypto';
import { IdempotencyConflictError, StreamNotFoundError, WrongExpectedRevisionError, type RecordedEvent } from '../ports/event-store.js';
import type { JsonObject } from '../domain/json.js';
import { sameAggregateStream } from '../domain/tenant-streams.js';
import { legacyStreamOf, readIfAny } from './stream-resolver.js';
import { RuleViolation } from '../domain/rule-violation.js';
import { deterministicUuid } from './deterministic-uuid.js';
import { eventMetadata, type CommandContext, type CommandDeps } from './handle-command.js';

export interface ReservationRequest {
  /** What is unique, e.g. `category.name`; also the rule id prefix of the refusal. */
  readonly scope: string;
  readonly tenantId: string;
  readonly value: string;
  /** The stream that holds the value (the aggregate's stream id). */
  readonly ownerStreamId: string;
  readonly context: CommandContext;
  /** The request field the value came from, named in a refusal (default: the scope's last segment). */
  readonly field?: string;
  /** Whether an owner still holds the value. Default: its stream exists. */
  readonly stillHolds?: (ownerStreamId: string) => Promise<boolean>;
}

export const ORPHANED_CLAIM_GRACE_MS = 60_000;

export const RESERVATION_CLAIMED = 'ReservationClaimed';
export const RESERVATION_RELEASED = 'ReservationReleased';

/** Values compare case-insensitively and without surrounding or repeated blanks. */
export const normalizeReservedValue = (value: string) => value.trim().replace(/\s+/g, ' ').toLowerCase();

/** NUL separates the parts: scope and tenant ids never contain it, so no two (scope, tenant, value) triples
 * share a digest input. */
export function reservationStreamId(scope: string, tenantId: string, value: string): string {
  const digest = createHash('sha256')
    .update(`${scope}\u0000${tenantId}\u0000${normalizeReservedValue(value)}`)
    .digest('hex')
    .slice(0, 32);
  return `reservation-${digest}`;
}

interface Claim {
  /** Revision of the reservation stream's last event; undefined when the stream does not exist. */
  readonly revision: bigint | undefined;
  /** The holder's stream and since when, when the value is claimed. */
  readonly holder: { readonly ownerStreamId: string; readonly claimedAt: number } | undefined;
}

async function readClaim(deps: CommandDeps, streamId: string): Promise<Claim> {
  let last: RecordedEvent | undefined;
  try {
    [last] = await deps.eventStore.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  const holder =
    last?.type === RESERVATION_CLAIMED
      ? { ownerStreamId: String(last.data.ownerStreamId), claimedAt: Date.parse(String(last.metadata.occurredAt)) }
      : undefined;
  return { revision: last?.revision, holder };
}

/** Whether the owner exists: its stream, or for a scoped name the tenant's legacy stream (stream-resolver.ts). */
async function ownerStreamExists(deps: CommandDeps, tenantId: string, ownerStreamId: string): Promise<boolean> {
  if ((await readIfAny(deps.eventStore, ownerStreamId, 1)) !== undefined) return true;
  return (await legacyStreamOf(deps.eventStore, ownerStreamId, tenantId)) !== undefined;
}

const stillHolds = (deps: CommandDeps, request: ReservationRequest, ownerStreamId: string) =>
  (request.stillHolds ?? ((owner) => ownerStreamExists(deps, request.tenantId, owner)))(ownerStreamId);

/** Claims written before ids were per tenant name the owner's legacy stream: the same owner as its scoped name. */
const heldBy = (holder: { readonly ownerStreamId: string } | undefined, request: ReservationRequest) =>
  holder !== undefined && sameAggregateStream(holder.ownerStreamId, request.ownerStreamId);

function reservationEvent(deps: CommandDeps, request: ReservationRequest, streamId: string, type: string, revision: bigint | undefined) {
  const { context } = request;
  // One id per (command, owner, revision claimed from): a retried command repeats its append exactly.
  const id = deterministicUuid(streamId, `${context.commandId}:${type}:${request.ownerStreamId}:${revision ?? 'none'}`);
  const data: JsonObject = { scope: request.scope, value: request.value, ownerStreamId: request.ownerStreamId };
  return { id, type, data, metadata: eventMetadata(context, deps.clock().toISOString(), 1) };
}

/** Claims the value for the owner, or throws RuleViolation `<scope>.unique` (conflict). Idempotent per owner. */
export async function reserve(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  const streamId = reservationStreamId(request.scope, request.tenantId, request.value);
  const refused = () =>
    new RuleViolation(
      `${request.scope}.unique`,
      `"${request.value}" is already taken`,
      'conflict',
      request.field ?? request.scope.split('.').at(-1),
    );
  // Most values were never claimed: try that first, with the very event the full path would write for
  // an absent stream (same id, so a retry is recognised), and read only when the stream exists.
  try {
    await deps.eventStore.append(streamId, [reservationEvent(deps, request, streamId, RESERVATION_CLAIMED, undefined)], {
      expectedRevision: 'no_stream',
    });
    return;
  } catch (error) {
    if (!(error instanceof WrongExpectedRevisionError) && !(error instanceof IdempotencyConflictError)) throw error;
  }
  const { revision, holder } = await readClaim(deps, streamId);
  if (heldBy(holder, request)) return;
  if (holder) {
    const orphaned =
      deps.clock().getTime() - holder.claimedAt > ORPHANED_CLAIM_GRACE_MS && !(await stillHolds(deps, request, holder.ownerStreamId));
    if (!orphaned) throw refused();
  }
  try {
    await deps.eventStore.append(streamId, [reservationEvent(deps, request, streamId, RESERVATION_CLAIMED, revision)], {
      expectedRevision: revision ?? 'no_stream',
    });
  } catch (error) {
    if (!(error instanceof WrongExpectedRevisionError)) throw error;
    // The claim changed since we read it. Only a claim by this same owner (a concurrent copy of this
    // command) lets us through; anything else is someone else's value now.
    if (heldBy((await readClaim(deps, streamId)).holder, request)) return;
    throw refused();
  }
}

/** Gives the value back. Only its owner can: a no-op when the owner does not hold the claim. */
export async function release(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  const streamId = reservationStreamId(request.scope, request.tenantId, request.value);
  // A conflict means someone moved the claim; read again to see whether it is still ours to give back.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { revision, holder } = await readClaim(deps, streamId);
    if (!heldBy(holder, request) || revision === undefined) return;
    try {
      await deps.eventStore.append(streamId, [reservationEvent(deps, request, streamId, RESERVATION_RELEASED, revision)], {
        expectedRevision: revision,
      });
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
  }
}

/**
 * Gives the value back if the owner no longer holds it (per `stillHolds`): after a command moved the owner
 * off the value (rename, archive) or failed after claiming. Deciding on the owner's state rather than on
 * what the command meant to do keeps a value claimed when a concurrent command moved the owner back on it;
 * a claim kept by mistake is freed later by the takeover rule, a claim lost by mistake would not be.
 */
export async function releaseIfUnheld(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  if (!(await stillHolds(deps, request, request.ownerStreamId))) await release(deps, request);
}

/** Gives a claim back unless its owner holds the value. Best effort: a release that fails only leaves a
 * claim behind, which the takeover rule frees later; it must not turn a command that took effect into an
 * error (nor hide the error of one that did not). */
export const giveBack = (deps: CommandDeps, claim: ReservationRequest): Promise<void> =>
  releaseIfUnheld(deps, claim).catch(() => undefined);

/** Runs `command` holding a claim on a value; gives the claim back if the command failed and the owner
 * does not hold the value after all. */
export async function withClaim<T>(deps: CommandDeps, claim: ReservationRequest, command: () => Promise<T>): Promise<T> {
  await reserve(deps, claim);
  try {
    return await command();
  } catch (error) {
    await giveBack(deps, claim);
    throw error;
  }
}

/**
 * The one way a command moves an owner between values: claims `claim` first (omit it when the owner keeps
 * its value, or for a retry), runs the command, gives the claim back if the command failed, and then gives
 * back the values the command moved the owner away from (`giveBackAfter`, given its result; each only if
 * the owner does not hold it after all).
 */
export async function claimRunGiveBack<T>(
  deps: CommandDeps,
  steps: { readonly claim?: ReservationRequest | undefined; readonly giveBackAfter?: (result: T) => readonly ReservationRequest[] },
  command: () => Promise<T>,
): Promise<T> {
  const result = steps.claim ? await withClaim(deps, steps.claim, command) : await command();
  for (const claim of steps.giveBackAfter?.(result) ?? []) await giveBack(deps, claim);
  return result;
}
