// Set-wide rules of environments, kept with reservation streams: a name is unique per tenant, and so is a
// target (namespace/network) per orchestrator kind, so two environments never share one. A claim stays
// backed while its environment exists (not deleted) with that value.
import { environmentDecider, environmentStreamId, type EnvironmentSettings } from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { normalizeReservedValue, type ReservationRequest } from '../reservations.js';

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
    ownerStreamId: environmentStreamId(environmentId),
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
    ownerStreamId: environmentStreamId(environmentId),
    context,
    field: 'target',
    stillHolds: (owner) => holds(deps, context.tenantId, owner, (s) => targetValue(s) === targetValue(settings)),
  };
}
