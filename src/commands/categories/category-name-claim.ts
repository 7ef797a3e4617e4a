// A category's name is unique per tenant among active categories (case-insensitively), kept with
// reservation streams: the claim's owner is the category's stream, and the claim stays backed while that
// category is active under the name.
import { categoryDecider, categoryStreamId } from '../../domain/categories/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { normalizeReservedValue, type ReservationRequest } from '../reservations.js';

export const CATEGORY_NAME_SCOPE = 'category.name';

export const sameName = (a: string, b: string) => normalizeReservedValue(a) === normalizeReservedValue(b);

async function holdsName(deps: CommandDeps, tenantId: string, ownerStreamId: string, name: string): Promise<boolean> {
  try {
    const { state } = await loadAggregate(deps, categoryDecider, ownerStreamId, { tenantId });
    return state.status === 'active' && sameName(state.name, name);
  } catch (error) {
    if (error instanceof RuleViolation && error.kind === 'not_found') return false;
    throw error;
  }
}

export function nameClaim(deps: CommandDeps, context: CommandContext, categoryId: string, name: string): ReservationRequest {
  return {
    scope: CATEGORY_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: categoryStreamId(context.tenantId, categoryId),
    context,
    field: 'name',
    // A claim is backed while its category is active under that name; otherwise it can be taken over.
    stillHolds: (owner) => holdsName(deps, context.tenantId, owner, name),
  };
}
