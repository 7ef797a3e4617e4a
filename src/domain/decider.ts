import type { JsonObject } from './json.js';

/** A domain event as an aggregate sees it: a plain discriminated union member. */
export interface DomainEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  readonly type: Type;
  readonly data: Data;
}

/**
 * An aggregate as a pair of pure functions (Emmett's decider): `decide` turns a command and the current
 * state into new events, or throws a RuleViolation; `evolve` folds one event into the state.
 */
export interface Decider<State, Command, Event extends DomainEvent> {
  readonly initialState: () => State;
  readonly decide: (command: Command, state: State) => Event[];
  readonly evolve: (state: State, event: Event) => State;
}
