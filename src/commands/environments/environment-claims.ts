// Set-wide rules of environments, kept with reservation streams: a name is unique per tenant, and so is a
// target (namespace/network) per orchestrator kind, so two environments never share one. A claim stays
// backed while its environment exists (not deleted) with that value.
import { environmentDecider, environmentStreamId, type EnvironmentSettings } from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { sameAggregateStream } from '../../domain/tenant-streams.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { StreamNotFoundError } from '../../ports/event-store.js';
import { RESERVATION_CLAIMED, normalizeReservedValue, reservationStreamId, type ReservationRequest } from '../reservations.js';

export const ENVIRONMENT_NAME_SCOPE = 'environment.name';
export const ENVIRONMENT_TARGET_SCOPE = 'environment.target';

const targetValue = (settings: Pick<EnvironmentSettings, 'orchestrator' | 'target'>) => `${settings.orchestrator}:${settings.target}`;

async function holds(
  deps: CommandDeps,
  tenantId: string,
  owner: string,
  matches: (settings: EnvironmentSettings) => boolean,
): Promise<boolean> {
  try {
    const { state } = await loadAggregate(deps, environmentDecider, owner, { tenantId });
    return state.status !== 'absent' && state.status !== 'deleted' && matches(state.settings);
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return false;
    throw error;
  }
}

export function environmentNameClaim(deps: CommandDeps, context: CommandContext, environmentId: string, name: string): ReservationRequest {
  return {
    scope: ENVIRONMENT_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: environmentStreamId(context.tenantId, environmentId),
    context,
    field: 'name',
    stillHolds: (owner) => holds(deps, context.tenantId, owner, (s) => normalizeReservedValue(s.name) === normalizeReservedValue(name)),
  };
}

export function environmentTargetClaim(
  deps: CommandDeps,
  context: CommandContext,
  environmentId: string,
  settings: Pick<EnvironmentSettings, 'orchestrator' | 'target'>,
): ReservationRequest {
  return {
    scope: ENVIRONMENT_TARGET_SCOPE,
    tenantId: context.tenantId,
    value: targetValue(settings),
    ownerStreamId: environmentStreamId(context.tenantId, environmentId),
    context,
    field: 'target',
    stillHolds: (owner) => holds(deps, context.tenantId, owner, (s) => targetValue(s) === targetValue(settings)),
  };
}

/**
 * Refuses, before anything is written, a value another owner visibly holds. Of two claims a command needs
 * (name and target), the second one failing would otherwise leave the first's claim and release behind; a
 * race past this check is still settled by `reserve`, and the claim given back.
 */
export async function assertUnclaimed(deps: CommandDeps, request: ReservationRequest): Promise<void> {
  let holder: string | undefined;
  try {
    const [last] = await deps.eventStore.readStream(reservationStreamId(request.scope, request.tenantId, request.value), {
      direction: 'backwards',
      maxCount: 1,
    });
    holder = last?.type === RESERVATION_CLAIMED ? String(last.data.ownerStreamId) : undefined;
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  if (holder === undefined || sameAggregateStream(holder, request.ownerStreamId)) return;
  if (request.stillHolds && !(await request.stillHolds(holder))) return;
  throw new RuleViolation(`${request.scope}.unique`, `"${request.value}" is already taken`, 'conflict', request.field);
}
