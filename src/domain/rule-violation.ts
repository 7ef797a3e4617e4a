/**
 * A command broke a rule of the domain. `kind` says how the HTTP layer answers: invalid → 400,
 * conflict → 409, not_found → 404, forbidden → 403, too_many → 429, unprocessable → 422 (well-formed, but
 * it names something that cannot be used or contradicts what it inherits). `field` names the input at fault
 * (relative to the body), or, made with `resourceState`, the state of the resource that refuses the command.
 */
export type RuleViolationKind = 'invalid' | 'conflict' | 'not_found' | 'forbidden' | 'too_many' | 'unprocessable';

export class RuleViolation extends Error {
  override readonly name = 'RuleViolation';
  constructor(
    /** A stable, machine-readable rule id, e.g. `category.name.unique`. */
    readonly rule: string,
    message: string,
    readonly kind: RuleViolationKind = 'invalid',
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Several rules broken at once (a whole spec checked before anything is asked of the world): every one is
 * listed, and the first decides the answer's kind. */
export class RuleViolations extends RuleViolation {
  constructor(readonly violations: readonly RuleViolation[]) {
    const first = violations[0]!;
    super(first.rule, `${violations.length} rules broken: ${violations.map((v) => v.message).join('; ')}`, first.kind, first.field);
  }
}

/** Collects the violations of independent checks instead of stopping at the first. */
export interface ViolationCollector {
  /** Runs a check; a RuleViolation it throws is kept (and `undefined` returned), anything else is rethrown. */
  attempt<T>(check: () => T): T | undefined;
  readonly violations: readonly RuleViolation[];
  /** Throws the one violation, or all of them as RuleViolations; returns when there is none. */
  throwIfAny(): void;
}

export function collectViolations(): ViolationCollector {
  const violations: RuleViolation[] = [];
  return {
    attempt<T>(check: () => T): T | undefined {
      try {
        return check();
      } catch (error) {
        if (!(error instanceof RuleViolation)) throw error;
        violations.push(...(error instanceof RuleViolations ? error.violations : [error]));
        return undefined;
      }
    },
    violations,
    throwIfAny() {
      if (violations.length === 1) throw violations[0]!;
      if (violations.length > 1) throw new RuleViolations([...violations]);
    },
  };
}

const RESOURCE_STATE = 'resource.';

/**
 * The `field` of a refusal caused by the resource's current state, not by the input (a cancel of a finished
 * batch): `resource.status`, never `body.status` when the body holds no status.
 */
export const resourceState = (name: string): string => `${RESOURCE_STATE}${name}`;

/** Where a refusal's field is: in the resource's state, or in the body of the request. */
export const fieldLocation = (field: string): string => (field.startsWith(RESOURCE_STATE) ? field : `body.${field}`);
