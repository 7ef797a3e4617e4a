// Category commands: the aggregate's decider plus the unique-name reservation around it.
import { categoryDecider, type CategoryCommand, type CategoryState } from '../domain/categories/index.js';
import { normalizeReservedValue, release, reserve, type ReservationRequest } from './reservations.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult } from './handle-command.js';

export const categoryStreamId = (categoryId: string) => `category-${categoryId}`;
const NAME_SCOPE = 'category.name';

type Result = CommandResult<CategoryState>;
interface Target {
  readonly categoryId: string;
  readonly expectedRevision?: bigint;
}

function nameReservation(deps: CommandDeps, context: CommandContext, categoryId: string, name: string): ReservationRequest {
  return {
    scope: NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: categoryStreamId(categoryId),
    context,
    field: 'name',
    // The claim is backed while the category is active under that name.
    stillHolds: async (owner) => {
      const { state } = await loadAggregate(deps, categoryDecider, owner, { tenantId: context.tenantId }).catch(() => ({ state: { status: 'absent' } as CategoryState }));
      return state.status === 'active' && normalizeReservedValue(state.name) === normalizeReservedValue(name);
    },
  };
}

function run(deps: CommandDeps, context: CommandContext, target: Target, command: CategoryCommand): Promise<Result> {
  return handleCommand(deps, categoryDecider, {
    streamId: categoryStreamId(target.categoryId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
  });
}

async function current(deps: CommandDeps, context: CommandContext, categoryId: string): Promise<CategoryState> {
  return (await loadAggregate(deps, categoryDecider, categoryStreamId(categoryId), { tenantId: context.tenantId })).state;
}

/** Runs `command` holding a claim on `name`; gives the claim back if the command did not take effect. */
async function withClaim(deps: CommandDeps, claim: ReservationRequest, command: () => Promise<Result>, stillNeeded: () => Promise<boolean>): Promise<Result> {
  await reserve(deps, claim);
  try {
    return await command();
  } catch (error) {
    if (!(await stillNeeded().catch(() => true))) await release(deps, claim).catch(() => undefined);
    throw error;
  }
}

export async function createCategory(deps: CommandDeps, context: CommandContext, input: { categoryId: string; name: string; description: string }): Promise<Result> {
  const command: CategoryCommand = { type: 'CreateCategory', data: input };
  categoryDecider.decide(command, categoryDecider.initialState()); // invalid input fails before any claim
  const claim = nameReservation(deps, context, input.categoryId, input.name);
  return withClaim(deps, claim, () => run(deps, context, input, command), () => claim.stillHolds!(claim.ownerStreamId));
}

export async function renameCategory(deps: CommandDeps, context: CommandContext, input: Target & { name: string }): Promise<Result> {
  const before = await current(deps, context, input.categoryId);
  const command: CategoryCommand = { type: 'RenameCategory', data: { name: input.name } };
  categoryDecider.decide(command, before);
  if (before.status !== 'active' || normalizeReservedValue(before.name) === normalizeReservedValue(input.name)) return run(deps, context, input, command);
  const claim = nameReservation(deps, context, input.categoryId, input.name);
  const result = await withClaim(deps, claim, () => run(deps, context, input, command), () => claim.stillHolds!(claim.ownerStreamId));
  if (!result.idempotent) await release(deps, nameReservation(deps, context, input.categoryId, before.name));
  return result;
}

export function describeCategory(deps: CommandDeps, context: CommandContext, input: Target & { description: string }): Promise<Result> {
  return run(deps, context, input, { type: 'DescribeCategory', data: { description: input.description } });
}

export async function archiveCategory(deps: CommandDeps, context: CommandContext, input: Target): Promise<Result> {
  const result = await run(deps, context, input, { type: 'ArchiveCategory', data: {} });
  if (result.state.status === 'archived') await release(deps, nameReservation(deps, context, input.categoryId, result.state.name));
  return result;
}

export async function restoreCategory(deps: CommandDeps, context: CommandContext, input: Target): Promise<Result> {
  const before = await current(deps, context, input.categoryId);
  const command: CategoryCommand = { type: 'RestoreCategory', data: {} };
  categoryDecider.decide(command, before);
  if (before.status !== 'archived') return run(deps, context, input, command);
  const claim = nameReservation(deps, context, input.categoryId, before.name);
  return withClaim(deps, claim, () => run(deps, context, input, command), () => claim.stillHolds!(claim.ownerStreamId));
}
