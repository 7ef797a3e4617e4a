// A template's name is unique per tenant among templates that are not archived, kept with reservation
// streams (see ../reservations.ts): a name is claimed before the event that gives it to a template and
// given back after the event that takes it away.
import { RuleViolation } from '../../domain/rule-violation.js';
import { templateDecider, templateStreamId, type TemplateState } from '../../domain/templates/index.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { normalizeReservedValue, type ReservationRequest } from '../reservations.js';
import { templateAccess } from './template-access.js';

export const TEMPLATE_NAME_SCOPE = 'template.name';

/** Whether a template in this state holds `name`: it exists, is not archived and is called so. */
export const holdsName = (state: TemplateState, name: string) =>
  state.status !== 'absent' && state.status !== 'archived' && normalizeReservedValue(state.content.name) === normalizeReservedValue(name);

/** The claim of `name` for the template; it stays backed while the template holds the name. */
export function nameClaim(deps: CommandDeps, context: CommandContext, templateId: string, name: string): ReservationRequest {
  return {
    scope: TEMPLATE_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: templateStreamId(templateId),
    context,
    field: 'name',
    stillHolds: async (owner) => {
      try {
        return holdsName(
          (await loadAggregate(deps, templateDecider, owner, { tenantId: context.tenantId, access: templateAccess })).state,
          name,
        );
      } catch (error) {
        if (error instanceof RuleViolation && error.kind === 'not_found') return false;
        throw error;
      }
    },
  };
}
