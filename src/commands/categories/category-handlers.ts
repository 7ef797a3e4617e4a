// Category commands: the aggregate's decider plus the rule that a name is unique per tenant among active
// categories (see category-name-claim.ts): a name is claimed before the event that gives it to a category
// is appended, and given back after the event that takes it away.
import {
  assertCategoryExists,
  assertMayChangeCategory,
  assertValidCategoryCreate,
  canonicalCategoryId,
  categoryDecider,
  categoryStreamId,
  type CategoryCommand,
  type CategoryEvent,
  type CategoryState,
} from '../../domain/categories/index.js';
import type { Decider } from '../../domain/decider.js';
import {
  alreadyHandled,
  assertExpectedRevision,
  handleCommand,
  loadAggregate,
  type CommandContext,
  type CommandDeps,
  type CommandResult,
} from '../handle-command.js';
import { claimRunGiveBack } from '../reservations.js';
import { nameClaim, sameName } from './category-name-claim.js';

export type CategoryCommandResult = CommandResult<CategoryState, CategoryEvent>;

export interface CategoryTarget {
  readonly categoryId: string;
  /** The revision the caller last saw (HTTP If-Match). */
  readonly expectedRevision?: bigint;
}

/** Several changes decided in turn, each on the state the previous one left, and appended as one batch:
 * a request that renames and describes takes effect whole or not at all. */
const changesDecider: Decider<CategoryState, readonly CategoryCommand[], CategoryEvent> = {
  initialState: categoryDecider.initialState,
  evolve: categoryDecider.evolve,
  decide: (commands, state) => {
    const events: CategoryEvent[] = [];
    let current = state;
    for (const command of commands) {
      const decided = categoryDecider.decide(command, current);
      current = decided.reduce(categoryDecider.evolve, current);
      events.push(...decided);
    }
    return events;
  },
};

function run(
  deps: CommandDeps,
  context: CommandContext,
  target: CategoryTarget,
  command: CategoryCommand | readonly CategoryCommand[],
): Promise<CategoryCommandResult> {
  const commands = Array.isArray(command) ? command : [command as CategoryCommand];
  return handleCommand(deps, changesDecider, {
    streamId: categoryStreamId(context.tenantId, target.categoryId),
    command: commands,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
  });
}

const load = (deps: CommandDeps, context: CommandContext, categoryId: string) =>
  loadAggregate(deps, categoryDecider, categoryStreamId(context.tenantId, categoryId), { tenantId: context.tenantId });

export async function createCategory(
  deps: CommandDeps,
  context: CommandContext,
  input: { categoryId: string; name: string; description: string },
): Promise<CategoryCommandResult> {
  const target = { categoryId: canonicalCategoryId(input.categoryId) };
  const command: CategoryCommand = { type: 'CreateCategory', data: { ...input, ...target } };
  assertValidCategoryCreate(command.data); // bad input fails before any claim
  // An existing stream needs no claim: the handler answers a retry, or refuses with category.exists.
  const exists = (await load(deps, context, input.categoryId)).revision !== undefined;
  return claimRunGiveBack(deps, { claim: exists ? undefined : nameClaim(deps, context, input.categoryId, input.name) }, () =>
    run(deps, context, target, command),
  );
}

export function renameCategory(
  deps: CommandDeps,
  context: CommandContext,
  input: CategoryTarget & { name: string },
): Promise<CategoryCommandResult> {
  return changeCategory(deps, context, input);
}

/** Renames and/or describes in one append; a new name is claimed first. */
export async function changeCategory(
  deps: CommandDeps,
  context: CommandContext,
  input: CategoryTarget & { name?: string; description?: string },
): Promise<CategoryCommandResult> {
  const commands: CategoryCommand[] = [
    ...(input.name !== undefined ? [{ type: 'RenameCategory', data: { name: input.name } } as const] : []),
    ...(input.description !== undefined ? [{ type: 'DescribeCategory', data: { description: input.description } } as const] : []),
  ];
  if (input.name === undefined) return run(deps, context, input, commands);
  const { name } = input;
  const before = await load(deps, context, input.categoryId);
  const handled = alreadyHandled(before, context);
  if (!handled) {
    assertMayChangeCategory(before.state, input); // not found, archived, bad name: before any claim
    assertExpectedRevision(before.streamId, input.expectedRevision, before);
  }
  const keepsName = before.state.status === 'active' && sameName(before.state.name, name);
  return claimRunGiveBack(
    deps,
    {
      claim: handled || keepsName ? undefined : nameClaim(deps, context, input.categoryId, name),
      // The names the command's events moved away from (not `before`'s: a retry may have renamed from
      // another one), also on a replay, in case the first run stopped before giving them back.
      giveBackAfter: (result) =>
        result.events.flatMap((event) =>
          event.type === 'CategoryRenamed' ? [nameClaim(deps, context, input.categoryId, event.data.previousName)] : [],
        ),
    },
    () => run(deps, context, input, commands),
  );
}

export function describeCategory(
  deps: CommandDeps,
  context: CommandContext,
  input: CategoryTarget & { description: string },
): Promise<CategoryCommandResult> {
  return run(deps, context, input, { type: 'DescribeCategory', data: { description: input.description } });
}

export async function archiveCategory(deps: CommandDeps, context: CommandContext, input: CategoryTarget): Promise<CategoryCommandResult> {
  return claimRunGiveBack(
    deps,
    {
      giveBackAfter: (result) => (result.state.status === 'absent' ? [] : [nameClaim(deps, context, input.categoryId, result.state.name)]),
    },
    () => run(deps, context, input, { type: 'ArchiveCategory', data: {} }),
  );
}

export async function restoreCategory(deps: CommandDeps, context: CommandContext, input: CategoryTarget): Promise<CategoryCommandResult> {
  const command: CategoryCommand = { type: 'RestoreCategory', data: {} };
  const before = await load(deps, context, input.categoryId);
  if (alreadyHandled(before, context)) return run(deps, context, input, command);
  assertCategoryExists(before.state); // not found before any claim
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const claim = before.state.status === 'archived' ? nameClaim(deps, context, input.categoryId, before.state.name) : undefined;
  return claimRunGiveBack(deps, { claim }, () => run(deps, context, input, command));
}
