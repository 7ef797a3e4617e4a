// Set-wide rules (a unique name per tenant) without reading a read model: one small stream per
// (scope, tenant, value), claimed with an exact expected revision. Two concurrent claims cannot both
// succeed, on PostgreSQL and on EventStoreDB alike, because the loser's expected revision is stale.
import { createHash } from 'node:crypto';
import { StreamNotFoundError, WrongExpectedRevisionError, type RecordedEvent } from '../domain/event-store.js';
import { RuleViolation } from '../domain/rule-violation.js';
import { deterministicUuid } from './deterministic-uuid.js';
import type { CommandContext, CommandDeps } from './handle-command.js';

export interface ReservationRequest {
  /** What is unique, e.g. `category.name`; also the rule id prefix of the refusal. */
  readonly scope: string;
  readonly tenantId: string;
  readonly value: string;
  /** The stream that will hold the value (the aggregate's stream id). */
  readonly ownerStreamId: string;
  readonly context: CommandContext;
  /** The request field the value came from, named in a refusal. */
  readonly field?: string;
  /**
   * Whether an owner still holds the value (its aggregate still carries it). Lets a claim left behind by a
   * crash between claim and append, or between append and release, be taken over after the grace period.
   * Defaults to "the owner stream exists".
   */
  readonly stillHolds?: (ownerStreamId: string) => Promise<boolean>;
}

/** A claim its owner no longer backs (a crash mid-command) can be taken over after this long; the grace
 * period covers the window in which a live command has claimed but not yet appended. */
export const ORPHANED_CLAIM_GRACE_MS = 60_000;

/** Values compare case-insensitively and without surrounding or repeated blanks. */
export const normalizeReservedValue = (value: string) => value.trim().replace(/\s+/g, ' ').toLowerCase();

export function reservationStreamId(scope: string, tenantId: string, value: string): string {
  const digest = createHash('sha256').update(`${scope}\u0000${tenantId}\u0000${normalizeReservedValue(value)}`).digest('hex').slice(0, 32);
  return `reservation-${digest}`;
}

async function readClaim(deps: CommandDeps, streamId: string): Promise<{ revision: bigint | undefined; last: RecordedEvent | undefined }> {
  try {
    const [last] = await deps.eventStore.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return { revision: last?.revision, last };
  } catch (error) {
    if (error instanceof StreamNotFoundError) return { revision: undefined, last: undefined };
    throw error;
  }
}

async function ownerExists(deps: CommandDeps, ownerStreamId: string): Promise<boolean> {
  try {
    await deps.eventStore.readStream(ownerStreamId, { maxCount: 1 });
    return true;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return false;
    throw error;
  }
}

/** Claims the value for the owner, or throws RuleViolation `<scope>.unique` (409). Idempotent per owner. */
export async function reserve(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  const streamId = reservationStreamId(request.scope, request.tenantId, request.value);
  const refused = () =>
    new RuleViolation(`${request.scope}.unique`, `"${request.value}" is already taken`, 'conflict', request.field ?? request.scope.split('.').at(-1));
  const { revision, last } = await readClaim(deps, streamId);
  if (last?.type === 'ReservationClaimed') {
    if (last.data.ownerStreamId === request.ownerStreamId) return;
    const claimedAt = Date.parse(String(last.metadata.occurredAt));
    const owner = String(last.data.ownerStreamId);
    const orphaned = deps.clock().getTime() - claimedAt > ORPHANED_CLAIM_GRACE_MS && !(await (request.stillHolds ?? ((id) => ownerExists(deps, id)))(owner));
    if (!orphaned) throw refused();
  }
  try {
    await deps.eventStore.append(
      streamId,
      [
        {
          id: deterministicUuid(streamId, `${request.context.commandId}:claim:${request.ownerStreamId}`),
          type: 'ReservationClaimed',
          data: { scope: request.scope, value: request.value, ownerStreamId: request.ownerStreamId },
          metadata: reservationMetadata(deps, request.context),
        },
      ],
      { expectedRevision: revision ?? 'no_stream' },
    );
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) {
      // Someone changed the claim since we read it: decide again on what is there now.
      const now = await readClaim(deps, streamId);
      if (now.last?.type === 'ReservationClaimed' && now.last.data.ownerStreamId === request.ownerStreamId) return;
      throw refused();
    }
    throw error;
  }
}

/** Gives the value back; only its owner can. A no-op when the owner does not hold it. */
export async function release(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  const streamId = reservationStreamId(request.scope, request.tenantId, request.value);
  for (let attempt = 0; attempt < 3; attempt++) {
    const { revision, last } = await readClaim(deps, streamId);
    if (last?.type !== 'ReservationClaimed' || last.data.ownerStreamId !== request.ownerStreamId || revision === undefined) return;
    try {
      await deps.eventStore.append(
        streamId,
        [
          {
            id: deterministicUuid(streamId, `${request.context.commandId}:release:${request.ownerStreamId}:${revision}`),
            type: 'ReservationReleased',
            data: { scope: request.scope, value: request.value, ownerStreamId: request.ownerStreamId },
            metadata: reservationMetadata(deps, request.context),
          },
        ],
        { expectedRevision: revision },
      );
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
  }
}

function reservationMetadata(deps: CommandDeps, context: CommandContext) {
  return {
    tenantId: context.tenantId,
    userId: context.userId,
    commandId: context.commandId,
    correlationId: context.correlationId,
    causationId: context.causationId ?? context.commandId,
    occurredAt: deps.clock().toISOString(),
    schemaVersion: 1,
  };
}
