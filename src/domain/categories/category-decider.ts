// A course category: the sample aggregate of the foundation. Names are unique per tenant among active
// categories; that set-wide rule lives in a reservation stream (src/commands/categories/category-name-claim.ts), not here.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { CATEGORY_CATEGORY } from './category-streams.js';
import type { CategoryCommand } from './category-commands.js';
import type { CategoryEvent } from './category-events.js';
import { isUuid } from '../uuid.js';

export type CategoryState = { status: 'absent' } | { status: 'active' | 'archived'; categoryId: string; name: string; description: string };

/** The statuses of a category that exists. */
export const CATEGORY_STATUSES = ['active', 'archived'] as const satisfies readonly Exclude<CategoryState['status'], 'absent'>[];
export const CATEGORY_NAME_MAX = 100;
export const CATEGORY_DESCRIPTION_MAX = 2000;

function validName(raw: string): string {
  const name = raw.trim();
  if (name.length < 1 || name.length > CATEGORY_NAME_MAX) {
    throw new RuleViolation('category.name.length', `name must be 1–${CATEGORY_NAME_MAX} characters`, 'invalid', 'name');
  }
  return name;
}

// Ids are UUIDs: the stream id and the read model's key are built from them.

function validCategoryId(categoryId: string): string {
  if (!isUuid(categoryId)) throw new RuleViolation('category.id.format', 'categoryId must be a UUID', 'invalid', 'categoryId');
  return categoryId;
}

function validDescription(description: string): string {
  if (description.length > CATEGORY_DESCRIPTION_MAX) {
    throw new RuleViolation(
      'category.description.length',
      `description must be at most ${CATEGORY_DESCRIPTION_MAX} characters`,
      'invalid',
      'description',
    );
  }
  return description;
}

type CreateCategoryData = Extract<CategoryCommand, { type: 'CreateCategory' }>['data'];

function createdData(data: CreateCategoryData) {
  const categoryId = validCategoryId(data.categoryId);
  return { categoryId, name: validName(data.name), description: validDescription(data.description) };
}

// Named checks: the rules `decide` applies, for the command layer to run before it writes elsewhere (a
// name claim).

/** Refuses bad input for a create. */
export function assertValidCategoryCreate(data: CreateCategoryData): void {
  createdData(data);
}

export function assertCategoryExists(state: CategoryState): asserts state is Exclude<CategoryState, { status: 'absent' }> {
  if (state.status === 'absent') throw notFoundOf(CATEGORY_CATEGORY);
}

function assertNotArchived(state: Exclude<CategoryState, { status: 'absent' }>): void {
  if (state.status === 'archived')
    throw new RuleViolation('category.archived', 'an archived category cannot change; restore it first', 'conflict');
}

/** Refuses a rename and/or description of a missing or archived category, and a bad name or description. */
export function assertMayChangeCategory(
  state: CategoryState,
  changes: { name?: string | undefined; description?: string | undefined },
): void {
  assertCategoryExists(state);
  if (changes.name === undefined && changes.description === undefined) return;
  assertNotArchived(state);
  if (changes.name !== undefined) validName(changes.name);
  if (changes.description !== undefined) validDescription(changes.description);
}

function decide(command: CategoryCommand, state: CategoryState): CategoryEvent[] {
  if (command.type === 'CreateCategory') {
    if (state.status !== 'absent') throw new RuleViolation('category.exists', 'this category already exists', 'conflict', 'categoryId');
    return [{ type: 'CategoryCreated', data: createdData(command.data) }];
  }
  assertCategoryExists(state);
  switch (command.type) {
    case 'RenameCategory': {
      assertNotArchived(state);
      const name = validName(command.data.name);
      return name === state.name ? [] : [{ type: 'CategoryRenamed', data: { name, previousName: state.name } }];
    }
    case 'DescribeCategory': {
      assertNotArchived(state);
      const description = validDescription(command.data.description);
      return description === state.description ? [] : [{ type: 'CategoryDescribed', data: { description } }];
    }
    case 'ArchiveCategory':
      return state.status === 'archived' ? [] : [{ type: 'CategoryArchived', data: { name: state.name } }];
    case 'RestoreCategory':
      return state.status === 'active' ? [] : [{ type: 'CategoryRestored', data: { name: state.name } }];
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

function evolve(state: CategoryState, event: CategoryEvent): CategoryState {
  switch (event.type) {
    case 'CategoryCreated':
      return { status: 'active', ...event.data };
    case 'CategoryRenamed':
      return state.status === 'absent' ? state : { ...state, name: event.data.name };
    case 'CategoryDescribed':
      return state.status === 'absent' ? state : { ...state, description: event.data.description };
    case 'CategoryArchived':
      return state.status === 'absent' ? state : { ...state, status: 'archived' };
    case 'CategoryRestored':
      return state.status === 'absent' ? state : { ...state, status: 'active' };
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}

export const categoryDecider: Decider<CategoryState, CategoryCommand, CategoryEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
