// A backup policy's name is unique per tenant among policies not deleted (case-insensitively), kept with a
// reservation stream whose owner is the policy's stream.
import { backupPolicyDecider, backupPolicyStreamId } from '../../domain/backup-policies/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { normalizeReservedValue, type ReservationRequest } from '../reservations.js';

export const BACKUP_POLICY_NAME_SCOPE = 'backup_policy.name';

export const samePolicyName = (a: string, b: string) => normalizeReservedValue(a) === normalizeReservedValue(b);

async function holdsName(deps: CommandDeps, tenantId: string, ownerStreamId: string, name: string): Promise<boolean> {
  try {
    const { state } = await loadAggregate(deps, backupPolicyDecider, ownerStreamId, { tenantId });
    return state.status === 'active' && samePolicyName(state.name, name);
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return false;
    throw error;
  }
}

export function policyNameClaim(deps: CommandDeps, context: CommandContext, policyId: string, name: string): ReservationRequest {
  return {
    scope: BACKUP_POLICY_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: backupPolicyStreamId(context.tenantId, policyId),
    context,
    field: 'name',
    stillHolds: (owner) => holdsName(deps, context.tenantId, owner, name),
  };
}
