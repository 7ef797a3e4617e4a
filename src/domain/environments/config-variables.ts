// Typed variables of a config template (string, number, boolean, enum; required, default, pattern), the
// same specs used as a schema to validate any config, and the rendering of `{{ name }}` placeholders.
import { RuleViolation } from '../rule-violation.js';
import { isUserPatternProblem, USER_PATTERN_INPUT_MAX, USER_PATTERN_MAX, USER_PATTERN_STATES_MAX, userPattern } from '../user-pattern.js';

export const VARIABLE_TYPES = ['string', 'number', 'boolean', 'enum'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
/** A schema field names a dotted path into the config (`spec.replicas`). */
export const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_-]{0,99}(\.[A-Za-z0-9_-]{1,100}){0,9}$/;
/** Patterns run on the linear-time matcher of domain/user-pattern.ts, never on a backtracking engine. */
export const PATTERN_MAX = USER_PATTERN_MAX;
/** Values tested against a pattern are cut off here. */
export const PATTERN_INPUT_MAX = USER_PATTERN_INPUT_MAX;

export type VariableSpec = {
  name: string;
  type: VariableType;
  required: boolean;
  default?: string | number | boolean;
  /** A secret template's variable whose default is sealed with its data (never shown). */
  defaultSealed?: boolean;
  pattern?: string;
  /** enum: the allowed values. */
  values?: string[];
  description?: string;
};

export type Finding = { field: string; rule: string; message: string };

/** A user-keyed record's own value: never one inherited from Object.prototype (`constructor`, `toString`). */
export const ownValue = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The variables a text refers to. */
export const placeholdersIn = (text: string): string[] => [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);

/** Checks one value against its spec; strings stand for numbers and booleans too (config values are text). */
export function checkValue(spec: VariableSpec, value: unknown, field: string): Finding[] {
  const fail = (rule: string, message: string) => [{ field, rule, message }];
  if (value === undefined || value === null || value === '') return spec.required ? fail('required', `${spec.name} is required`) : [];
  switch (spec.type) {
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      return Number.isFinite(n) ? [] : fail('type.number', `${spec.name} must be a number`);
    }
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false'
        ? []
        : fail('type.boolean', `${spec.name} must be true or false`);
    case 'enum':
      return spec.values?.includes(String(value)) ? [] : fail('enum', `${spec.name} must be one of ${(spec.values ?? []).join(', ')}`);
    case 'string': {
      if (typeof value !== 'string') return fail('type.string', `${spec.name} must be a string`);
      if (!spec.pattern) return [];
      const pattern = userPattern(spec.pattern);
      // A pattern recorded before the matcher refused its kind cannot check anything: say so, never skip it.
      if (isUserPatternProblem(pattern)) return fail('pattern.unsupported', `${spec.name}'s pattern cannot be used: ${pattern.message}`);
      if (value.length > PATTERN_INPUT_MAX)
        return fail(
          'pattern.input_length',
          `${spec.name} must be at most ${PATTERN_INPUT_MAX} characters to be checked against its pattern`,
        );
      return pattern.test(value) ? [] : fail('pattern', `${spec.name} must match ${spec.pattern}`);
    }
  }
}

/** Refuses a variable list that cannot work: duplicate names, an enum without values, a bad pattern or
 * default. `path` allows dotted names (a validation schema rather than template variables). */
export function validVariables(variables: readonly VariableSpec[], field = 'variables', path = false): VariableSpec[] {
  const seen = new Set<string>();
  let states = 0;
  variables.forEach((v, i) => {
    const at = `${field}.${i}`;
    const invalid = (rule: string, message: string, sub: string) => new RuleViolation(rule, message, 'invalid', `${at}.${sub}`);
    if (!(path ? FIELD_PATH : VARIABLE_NAME).test(v.name))
      throw invalid('variable.name', 'a variable name is a letter or _ then letters, digits, _', 'name');
    if (seen.has(v.name)) throw invalid('variable.name.unique', `${v.name} is declared twice`, 'name');
    seen.add(v.name);
    if (v.type === 'enum' && !(v.values && v.values.length > 0)) throw invalid('variable.enum.values', 'an enum needs values', 'values');
    if (v.pattern !== undefined) {
      if (v.type !== 'string') throw invalid('variable.pattern.type', 'only a string has a pattern', 'pattern');
      const pattern = userPattern(v.pattern);
      if (isUserPatternProblem(pattern)) throw invalid(`variable.pattern.${pattern.reason}`, pattern.message, 'pattern');
      // One render (or validation) tests every pattern: their work together is what one pattern may do.
      states += pattern.states;
      if (states > USER_PATTERN_STATES_MAX)
        throw invalid(
          'variable.pattern.complexity',
          `the patterns together expand to more than ${USER_PATTERN_STATES_MAX} states; use fewer or smaller repetitions`,
          'pattern',
        );
    }
    if (v.default !== undefined) {
      const [problem] = checkValue({ ...v, required: false }, v.default, `${at}.default`);
      if (problem) throw new RuleViolation(`variable.default.${problem.rule}`, problem.message, 'invalid', problem.field);
    }
  });
  return [...variables];
}

/** The values to render with: given ones checked, defaults filled in; errors name `variables.<name>`. */
export function resolveVariables(
  specs: readonly VariableSpec[],
  given: Readonly<Record<string, unknown>>,
): { values: Record<string, string>; errors: Finding[] } {
  const errors: Finding[] = Object.keys(given)
    .filter((name) => !specs.some((s) => s.name === name))
    .map((name) => ({ field: `variables.${name}`, rule: 'unknown', message: `the template has no variable ${name}` }));
  // Names are the user's: `constructor` or `__proto__` must be read and written as plain keys.
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const spec of specs) {
    const value = ownValue(given, spec.name) ?? spec.default;
    errors.push(...checkValue(spec, value, `variables.${spec.name}`));
    values[spec.name] = value === undefined || value === null ? '' : String(value);
  }
  return { values, errors };
}

/** Replaces every `{{ name }}` in every value. */
export function renderData(data: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, text]) => [key, text.replace(PLACEHOLDER, (_, name: string) => ownValue(values, name) ?? '')]),
  );
}

/** Checks a config (any JSON) against schema fields, each naming a dotted path. */
export function checkAgainstSchema(config: unknown, fields: readonly VariableSpec[]): Finding[] {
  return fields.flatMap((spec) => {
    const value = spec.name
      .split('.')
      .reduce<unknown>((at, key) => (at && typeof at === 'object' ? ownValue(at as Record<string, unknown>, key) : undefined), config);
    return checkValue(spec, value, spec.name);
  });
}
