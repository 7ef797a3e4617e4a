// Given events, when a command, then events (or a refused rule): the one way decider tests read
// (after Emmett's DeciderSpecification), for every aggregate.
import { expect } from 'vitest';
import type { Decider, DomainEvent } from '../../src/domain/decider.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';

/** The RuleViolation `run` throws; fails the test when it throws nothing or something else. */
export function refusal(run: () => unknown): RuleViolation {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RuleViolation);
    return error as RuleViolation;
  }
  throw new Error('expected a RuleViolation');
}

export function deciderSpec<State, Command, Event extends DomainEvent>(decider: Decider<State, Command, Event>) {
  const stateAfter = (events: readonly Event[]): State => events.reduce(decider.evolve, decider.initialState());
  const given = (...events: Event[]) => ({
    when: (command: Command) => ({
      then: (expected: Event[]) => expect(decider.decide(command, stateAfter(events))).toEqual(expected),
      thenRefuses: (rule: string, kind: RuleViolation['kind'], field?: string) => {
        const thrown = refusal(() => decider.decide(command, stateAfter(events)));
        expect(thrown).toMatchObject({ rule, kind, ...(field ? { field } : {}) });
        return thrown;
      },
    }),
  });
  return { given, stateAfter };
}
