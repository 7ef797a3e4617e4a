// The restore planner against the aggregates' own deciders: for any history and any cut, running the
// planned steps as commands on today's state is accepted by every rule and leaves the aggregate as it was
// at the cut (or archived, when it did not exist yet then). Plans are empty when nothing changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryDecider, type CategoryCommand, type CategoryState } from '../../../src/domain/categories/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import {
  STATUS_COMMAND,
  statusPath,
  templateDecider,
  type TemplateCommand,
  type TemplateState,
} from '../../../src/domain/templates/index.js';
import {
  planCategoryRestore,
  planTemplateRestore,
  stepKey,
  type CategoryRestoreStep,
  type TemplateRestoreStep,
} from '../../../src/domain/tenant-restores/index.js';

const ID = '4b9f4f4e-8d7e-4f0a-9c1b-2a3b4c5d6e7f';

/** Folds commands through decide (refused ones are skipped), keeping the state after each. */
function history<S, C>(
  decider: { initialState: () => S; decide: (c: C, s: S) => { type: string; data: unknown }[]; evolve: (s: S, e: never) => S },
  commands: readonly C[],
): S[] {
  const states: S[] = [decider.initialState()];
  let state = decider.initialState();
  for (const command of commands) {
    try {
      for (const event of decider.decide(command, state)) state = decider.evolve(state, event as never);
    } catch (error) {
      if (!(error instanceof RuleViolation)) throw error;
    }
    states.push(state);
  }
  return states;
}

function apply<S, C>(
  decider: { decide: (c: C, s: S) => { type: string; data: unknown }[]; evolve: (s: S, e: never) => S },
  state: S,
  commands: readonly C[],
): S {
  let current = state;
  for (const command of commands) for (const event of decider.decide(command, current)) current = decider.evolve(current, event as never);
  return current;
}

const names = fc.constantFrom('Alpha', 'Beta', 'Gamma');
const categoryCommand: fc.Arbitrary<CategoryCommand> = fc.oneof(
  names.map((name) => ({ type: 'RenameCategory' as const, data: { name } })),
  fc.constantFrom('', 'one', 'two').map((description) => ({ type: 'DescribeCategory' as const, data: { description } })),
  fc.constant({ type: 'ArchiveCategory' as const, data: {} }),
  fc.constant({ type: 'RestoreCategory' as const, data: {} }),
);

const categoryCommandOf = (step: CategoryRestoreStep): CategoryCommand => {
  switch (step.type) {
    case 'archive':
      return { type: 'ArchiveCategory', data: {} };
    case 'restore':
      return { type: 'RestoreCategory', data: {} };
    case 'rename':
      return { type: 'RenameCategory', data: { name: step.name } };
    case 'describe':
      return { type: 'DescribeCategory', data: { description: step.description } };
  }
};

const view = (state: CategoryState) =>
  state.status === 'absent' ? state : { status: state.status, name: state.name, description: state.description };

describe('category restore plans', () => {
  it('bring any category back to its state at any cut, through steps every rule accepts', () => {
    fc.assert(
      fc.property(fc.array(categoryCommand, { maxLength: 12 }), fc.nat(), fc.boolean(), (commands, cutAt, createdLate) => {
        const create: CategoryCommand = { type: 'CreateCategory', data: { categoryId: ID, name: 'Alpha', description: '' } };
        const states = history(categoryDecider, [create, ...commands]);
        const now = states.at(-1)!;
        const atTarget = createdLate ? categoryDecider.initialState() : states[1 + (cutAt % (states.length - 1))]!;
        const plan = planCategoryRestore(atTarget, now);
        const after = apply(categoryDecider, now, plan.steps.map(categoryCommandOf));
        if (atTarget.status === 'absent') expect(after.status).toBe('archived');
        else expect(view(after)).toEqual(view(atTarget));
        expect(plan.action === 'unchanged').toBe(plan.steps.length === 0);
        expect(new Set(plan.steps.map(stepKey)).size).toBe(plan.steps.length);
      }),
    );
  });
});

const templateCommand: fc.Arbitrary<TemplateCommand> = fc.oneof(
  fc.constantFrom('one', 'two', null).map((description) => ({ type: 'UpdateTemplate' as const, data: { description } })),
  names.map((name) => ({ type: 'UpdateTemplate' as const, data: { name } })),
  fc
    .constantFrom('ActivateTemplate', 'ArchiveTemplate', 'DeprecateTemplate', 'UnarchiveTemplate')
    .map((type) => ({ type, data: {} }) as TemplateCommand),
  fc.integer({ min: 1, max: 6 }).map((version) => ({ type: 'RestoreTemplateVersion' as const, data: { version } })),
  fc.constantFrom('DeleteTemplate', 'UndeleteTemplate').map((type) => ({ type, data: {} }) as TemplateCommand),
);

const templateCommandOf = (step: TemplateRestoreStep): TemplateCommand => {
  switch (step.type) {
    case 'status':
      return { type: STATUS_COMMAND[step.to], data: {} } as TemplateCommand;
    case 'restoreVersion':
      return { type: 'RestoreTemplateVersion', data: { version: step.version } };
    case 'changeParent':
      return { type: 'ChangeTemplateParent', data: { parentTemplateId: step.parentTemplateId } };
    case 'undelete':
      return { type: 'UndeleteTemplate', data: {} };
    case 'delete':
      return { type: 'DeleteTemplate', data: {} };
  }
};

describe('template restore plans', () => {
  it('bring any template back to its content and status at any cut, through steps every rule accepts', () => {
    fc.assert(
      fc.property(fc.array(templateCommand, { maxLength: 14 }), fc.nat(), fc.boolean(), (commands, cutAt, createdLate) => {
        const create: TemplateCommand = {
          type: 'CreateTemplate',
          data: { templateId: ID, ownerTenantId: 'acme', name: 'Alpha', templateType: 'base' },
        };
        const states = history(templateDecider, [create, ...commands]);
        const now = states.at(-1)!;
        const atTarget: TemplateState = createdLate ? templateDecider.initialState() : states[1 + (cutAt % (states.length - 1))]!;
        const plan = planTemplateRestore(atTarget, now);
        const after = apply(templateDecider, now, plan.steps.map(templateCommandOf));
        expect(plan.action === 'unchanged').toBe(plan.steps.length === 0);
        if (atTarget.status === 'absent') {
          // Deleted then: deleted again (or still); not created yet then: archived (or never undeleted).
          if (atTarget.deleted) expect(after.status).toBe('absent');
          else if (now.status !== 'absent') expect(after.status).toBe('archived');
          return;
        }
        if (after.status === 'absent') throw new Error('a template that existed at the target was left deleted');
        expect(after.status).toBe(atTarget.status);
        expect(after.content).toEqual(atTarget.content);
        expect(new Set(plan.steps.map(stepKey)).size).toBe(plan.steps.length);
      }),
    );
  });

  it('finds the shortest status path of the lifecycle', () => {
    expect(statusPath('archived', 'active')).toEqual(['draft', 'active']);
    expect(statusPath('archived', 'deprecated')).toEqual(['draft', 'active', 'deprecated']);
    expect(statusPath('deprecated', 'draft')).toEqual(['archived', 'draft']);
    expect(statusPath('active', 'active')).toEqual([]);
  });
});
