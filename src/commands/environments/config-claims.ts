// A config's name is unique per tenant within its environment (or among the tenant-wide configs), kept with
// a reservation stream. The directory deployments read resolves names through the same streams, so it needs
// no read model: the claim's holder is the config's stream.
import { configDecider, configStreamId } from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { StreamNotFoundError } from '../../ports/event-store.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { RESERVATION_CLAIMED, reservationStreamId, type ReservationRequest } from '../reservations.js';

export const CONFIG_NAME_SCOPE = 'config.name';
/** Tenant-wide configs share one namespace, apart from every environment's. */
const scopeValue = (environmentId: string | null, name: string) => `${environmentId ?? '*'}/${name}`;

export function configNameClaim(
  deps: CommandDeps,
  context: CommandContext,
  configId: string,
  environmentId: string | null,
  name: string,
): ReservationRequest {
  return {
    scope: CONFIG_NAME_SCOPE,
    tenantId: context.tenantId,
    value: scopeValue(environmentId, name),
    ownerStreamId: configStreamId(context.tenantId, configId),
    context,
    field: 'name',
    stillHolds: async (owner) => {
      try {
        const { state } = await loadAggregate(deps, configDecider, owner, { tenantId: context.tenantId });
        return state.status === 'active' && state.name === name && state.environmentId === environmentId;
      } catch (error) {
        if (error instanceof RuleViolation && error.kind === 'not_found') return false;
        throw error;
      }
    },
  };
}

/** The stream of the config that holds `name` in the environment (or tenant-wide), if one does. */
export async function configHolderOf(
  deps: Pick<CommandDeps, 'eventStore'>,
  tenantId: string,
  environmentId: string | null,
  name: string,
): Promise<string | undefined> {
  try {
    const [last] = await deps.eventStore.readStream(reservationStreamId(CONFIG_NAME_SCOPE, tenantId, scopeValue(environmentId, name)), {
      direction: 'backwards',
      maxCount: 1,
    });
    return last?.type === RESERVATION_CLAIMED ? String(last.data.ownerStreamId) : undefined;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return undefined;
    throw error;
  }
}
