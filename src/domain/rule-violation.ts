/**
 * A command broke a rule of the domain. `kind` says how the HTTP layer answers: invalid → 400,
 * conflict → 409, not_found → 404, forbidden → 403, too_many → 429, unprocessable → 422 (well-formed, but
 * it names something that cannot be used or contradicts what it inherits). `field` names the input at fault.
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
