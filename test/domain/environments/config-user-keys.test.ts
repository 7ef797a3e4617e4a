// User keys that are also Object.prototype members (`constructor`, `toString`, `__proto__`…) are plain
// keys wherever a config, a template's variables or a schema path is read: fast-check over such keys.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAgainstSchema,
  renderData,
  resolveVariables,
  validConfigData,
  type VariableSpec,
} from '../../../src/domain/environments/index.js';

const PROTO_NAMES = [
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__proto__',
  '__defineGetter__',
  'toLocaleString',
];
const key = fc.oneof(fc.constantFrom(...PROTO_NAMES), fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/));
/** An object with own properties named as given, `__proto__` included (as JSON.parse makes them). */
const own = (entries: [string, string][]) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as Record<string, string>;
const ownEntries = (entries: [string, string][]): [string, string][] => [...new Map(entries)];

describe('user keys named like Object.prototype members', () => {
  it('are optional variables like any other, given or not, and render as given', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(key, fc.string({ maxLength: 5 }))),
        (names, given) => {
          const specs: VariableSpec[] = names.map((name) => ({ name, type: 'string', required: false }));
          const values = ownEntries(given.filter(([name]) => names.includes(name)));
          const { values: resolved, errors } = resolveVariables(specs, own(values));
          expect(errors).toEqual([]);
          const data = Object.fromEntries(names.map((name) => [`K${name}`, `<{{ ${name} }}>`]));
          const expected = Object.fromEntries(names.map((name) => [`K${name}`, `<${new Map(values).get(name) ?? ''}>`]));
          expect(renderData(data, resolved)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('name no inherited value in a schema path, and are valid config keys', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 3 }), (path) => {
        const errors = checkAgainstSchema({ spec: {} }, [{ name: ['spec', ...path].join('.'), type: 'string', required: true }]);
        expect(errors.map((e) => e.rule)).toEqual(['required']);
        const data = own(path.map((k) => [k, 'x']));
        expect(validConfigData('configmap', data)).toEqual([...new Set(path)].sort());
      }),
      { numRuns: 200 },
    );
  });
});
