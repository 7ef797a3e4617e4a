// Template inheritance: merge strategies, chain folding and parent-chain checks, mostly as properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../../src/domain/json.js';
import {
  MAX_INHERITANCE_DEPTH,
  MERGE_STRATEGIES,
  effectiveParticipants,
  effectiveTemplate,
  mergeByStrategy,
  validateEffectiveParticipants,
  validateParentChain,
  type MergeStrategy,
  type ParentLookup,
  type TemplateLayer,
} from '../../../src/domain/templates/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';

// Keys include the dangerous ones on purpose: the merge must treat them as plain data.
const key = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString') },
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null)),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('json'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('json'), { maxKeys: 4 }),
})) as unknown as { json: fc.Arbitrary<JsonValue> };
// fc.dictionary builds objects with own keys (defineProperty), so '__proto__' is a real key here.
const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(key, json, { maxKeys: 5 });
const strategy = fc.constantFrom(...MERGE_STRATEGIES);

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every (key path, value) of an object, nested objects included; arrays and scalars are not walked into. */
function paths(value: JsonObject, prefix: string[] = []): [string[], JsonValue][] {
  return Object.keys(value).flatMap((k) => {
    const v = value[k] as JsonValue;
    const here: [string[], JsonValue] = [[...prefix, k], v];
    return isObject(v) ? [here, ...paths(v, [...prefix, k])] : [here];
  });
}
function at(value: JsonValue, path: string[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const k of path) current = isObject(current) && Object.hasOwn(current, k) ? current[k] : undefined;
  return current;
}
const snapshot = (value: unknown) => JSON.stringify(value);

describe('mergeByStrategy', () => {
  it('override: child keys replace the parent ones, shallowly', () => {
    expect(mergeByStrategy({ a: 1, o: { x: 1, y: 2 } }, { o: { x: 9 }, b: 2 }, 'override')).toEqual({ a: 1, b: 2, o: { x: 9 } });
  });

  it('merge: objects recurse, arrays concatenate, other values replace', () => {
    expect(
      mergeByStrategy(
        { a: 1, o: { x: 1, y: [1] }, l: [1, 2], s: 'p' },
        { o: { y: [2], z: 3 }, l: [3], s: { now: 'obj' }, n: null },
        'merge',
      ),
    ).toEqual({
      a: 1,
      o: { x: 1, y: [1, 2], z: 3 },
      l: [1, 2, 3],
      s: { now: 'obj' },
      n: null,
    });
  });

  it('extend: only adds what the parent lacks, recursing into objects both have', () => {
    expect(
      mergeByStrategy({ a: 1, o: { x: 1 }, l: [1], s: 'p' }, { a: 2, o: { x: 2, y: 3 }, l: [2], s: { o: 1 }, n: 4 }, 'extend'),
    ).toEqual({ a: 1, o: { x: 1, y: 3 }, l: [1], s: 'p', n: 4 });
  });

  it('selective: only the listed top-level keys of the child replace', () => {
    expect(mergeByStrategy({ a: 1, b: { x: 1 }, c: 3 }, { a: 9, b: { y: 2 }, d: 4 }, 'selective', ['b', 'missing'])).toEqual({
      a: 1,
      b: { y: 2 },
      c: 3,
    });
  });

  it('treats __proto__ as a plain key and pollutes no prototype', () => {
    const parent = JSON.parse('{"__proto__": {"a": 1}, "k": 1}') as JsonObject;
    const child = JSON.parse('{"__proto__": {"b": 2, "polluted": true}}') as JsonObject;
    const merged = mergeByStrategy(parent, child, 'merge');
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(JSON.stringify(merged)).toBe('{"__proto__":{"a":1,"b":2,"polluted":true},"k":1}');
    const overridden = mergeByStrategy({}, child, 'override');
    expect(JSON.stringify(overridden)).toBe('{"__proto__":{"b":2,"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('override with an empty child equals the parent', () => {
    fc.assert(
      fc.property(jsonObject, (parent) => {
        expect(mergeByStrategy(parent, {}, 'override')).toEqual(parent);
      }),
    );
  });

  it('merge with an empty child equals the parent, with an empty parent equals the child', () => {
    fc.assert(
      fc.property(jsonObject, (value) => {
        expect(mergeByStrategy(value, {}, 'merge')).toEqual(value);
        expect(mergeByStrategy({}, value, 'merge')).toEqual(value);
      }),
    );
  });

  it('merge of objects with disjoint top-level keys is their union', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (parent, rawChild) => {
        const child: JsonObject = {};
        for (const k of Object.keys(rawChild)) {
          if (!Object.hasOwn(parent, k))
            Object.defineProperty(child, k, { value: rawChild[k], enumerable: true, writable: true, configurable: true });
        }
        const union: JsonObject = {};
        for (const source of [parent, child]) {
          for (const k of Object.keys(source))
            Object.defineProperty(union, k, { value: source[k], enumerable: true, writable: true, configurable: true });
        }
        expect(mergeByStrategy(parent, child, 'merge')).toEqual(union);
      }),
    );
  });

  it('extend never changes a value of the parent, at any key path', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (parent, child) => {
        const result = mergeByStrategy(parent, child, 'extend');
        for (const [path, value] of paths(parent)) {
          // A scalar or array keeps its value; an object stays an object (extend may only add keys to it).
          if (isObject(value)) expect(isObject(at(result, path))).toBe(true);
          else expect(at(result, path)).toEqual(value);
        }
        for (const k of Object.keys(child)) expect(Object.hasOwn(result, k)).toBe(true);
      }),
    );
  });

  it('selective with no keys equals the parent', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (parent, child) => {
        expect(mergeByStrategy(parent, child, 'selective', [])).toEqual(parent);
      }),
    );
  });

  it('never mutates its inputs and shares nothing with them', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, strategy, fc.array(key, { maxLength: 3 }), (parent, child, how, keys) => {
        const [before, beforeChild] = [snapshot(parent), snapshot(child)];
        const result = mergeByStrategy(parent, child, how, keys);
        expect([snapshot(parent), snapshot(child)]).toEqual([before, beforeChild]);
        // Mutating the result anywhere leaves the inputs as they were.
        const scribble = (value: JsonValue): void => {
          if (Array.isArray(value)) {
            value.forEach(scribble);
            value.push('scribbled');
          } else if (isObject(value)) {
            Object.values(value).forEach(scribble);
            Object.defineProperty(value, 'scribbled', { value: true, enumerable: true, writable: true, configurable: true });
          }
        };
        scribble(result);
        expect([snapshot(parent), snapshot(child)]).toEqual([before, beforeChild]);
      }),
    );
  });
});

describe('effectiveTemplate', () => {
  const nullableInt = fc.option(fc.integer({ min: 1, max: 100 }), { nil: null });
  const layer: fc.Arbitrary<TemplateLayer> = fc.record({
    dynamicProperties: jsonObject,
    validationRules: jsonObject,
    uiConfiguration: jsonObject,
    mergeStrategy: strategy,
    selectiveKeys: fc.array(key, { maxLength: 3 }),
    description: fc.option(fc.string({ maxLength: 5 }), { nil: null }),
    categoryId: fc.option(fc.uuid(), { nil: null }),
    defaultDuration: nullableInt,
    defaultMaxParticipants: nullableInt,
    defaultMinParticipants: nullableInt,
    defaultPrice: fc.option(fc.record({ amountMinor: fc.nat(), currency: fc.constantFrom('EUR', 'USD') }), { nil: null }),
    defaultSkillLevel: fc.option(fc.constantFrom('beginner' as const, 'expert' as const), { nil: null }),
  });

  it('equals the left fold of pairwise mergeByStrategy, scalars inheriting when null', () => {
    fc.assert(
      fc.property(fc.array(layer, { minLength: 1, maxLength: 5 }), (chain) => {
        const before = snapshot(chain);
        const result = effectiveTemplate(chain);
        expect(snapshot(chain)).toBe(before);
        const [root, ...rest] = chain as [TemplateLayer, ...TemplateLayer[]];
        for (const field of ['dynamicProperties', 'validationRules', 'uiConfiguration'] as const) {
          const folded = rest.reduce((acc, l) => mergeByStrategy(acc, l[field], l.mergeStrategy, l.selectiveKeys), root[field]);
          expect(result[field]).toEqual(folded);
        }
        for (const field of [
          'description',
          'categoryId',
          'defaultDuration',
          'defaultMaxParticipants',
          'defaultMinParticipants',
          'defaultPrice',
          'defaultSkillLevel',
        ] as const) {
          const folded = chain.reduce<unknown>((acc, l) => l[field] ?? acc, null);
          expect(result[field]).toEqual(folded);
        }
      }),
    );
  });

  it('applies each child’s own strategy', () => {
    const base = {
      dynamicProperties: {},
      validationRules: {},
      uiConfiguration: {},
      selectiveKeys: [],
      description: null,
      categoryId: null,
      defaultDuration: null,
      defaultMaxParticipants: null,
      defaultMinParticipants: null,
      defaultPrice: null,
      defaultSkillLevel: null,
    };
    const result = effectiveTemplate([
      { ...base, mergeStrategy: 'override', dynamicProperties: { a: { x: 1 } }, defaultDuration: 60, description: 'root' },
      { ...base, mergeStrategy: 'merge', dynamicProperties: { a: { y: 2 } }, defaultDuration: null, defaultSkillLevel: 'expert' },
      { ...base, mergeStrategy: 'extend', dynamicProperties: { a: { x: 5, z: 3 }, b: 1 }, defaultDuration: 90 },
    ]);
    expect(result).toMatchObject({
      dynamicProperties: { a: { x: 1, y: 2, z: 3 }, b: 1 },
      defaultDuration: 90,
      defaultSkillLevel: 'expert',
      description: 'root',
    });
  });

  it('refuses an empty chain', () => {
    expect(() => effectiveTemplate([])).toThrow(RuleViolation);
  });
});

describe('validateParentChain', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
  const lookupOf =
    (parents: Map<string, string | null>): ParentLookup =>
    (id) =>
      parents.has(id) ? { parentTemplateId: parents.get(id) ?? null } : undefined;
  function refused(run: () => unknown): RuleViolation | undefined {
    try {
      run();
      return undefined;
    } catch (error) {
      if (!(error instanceof RuleViolation)) throw error;
      return error;
    }
  }
  /** A line t0 ← t1 ← … ← t(n-1): t(n-1) sits at depth n. */
  const line = (n: number) => new Map(ids(n).map((id, i) => [id, i === 0 ? null : `t${i - 1}`]));

  it('accepts no parent, and a parent chain up to depth 10 but not 11', () => {
    const parents = line(10);
    expect(validateParentChain({ templateId: 'new', newParentId: null, lookup: lookupOf(parents) })).toBe(1);
    expect(validateParentChain({ templateId: 'new', newParentId: 't8', lookup: lookupOf(parents) })).toBe(MAX_INHERITANCE_DEPTH);
    expect(refused(() => validateParentChain({ templateId: 'new', newParentId: 't9', lookup: lookupOf(parents) }))).toMatchObject({
      rule: 'template.parent.depth',
      kind: 'conflict',
    });
    expect(
      refused(() => validateParentChain({ templateId: 'new', newParentId: 't0', lookup: lookupOf(parents), subtreeDepth: 10 })),
    ).toMatchObject({ rule: 'template.parent.depth' });
    expect(validateParentChain({ templateId: 'new', newParentId: 't0', lookup: lookupOf(parents), subtreeDepth: 9 })).toBe(2);
  });

  it('refuses itself, an unknown parent and a cycle', () => {
    const parents = line(4);
    const lookup = lookupOf(parents);
    expect(refused(() => validateParentChain({ templateId: 't1', newParentId: 't1', lookup }))).toMatchObject({
      rule: 'template.parent.self',
      kind: 'invalid',
      field: 'parentTemplateId',
    });
    expect(refused(() => validateParentChain({ templateId: 't1', newParentId: 'ghost', lookup }))).toMatchObject({
      rule: 'template.parent.not_found',
      kind: 'not_found',
    });
    expect(refused(() => validateParentChain({ templateId: 't1', newParentId: 't3', lookup }))).toMatchObject({
      rule: 'template.parent.cycle',
      kind: 'conflict',
    });
    expect(validateParentChain({ templateId: 't3', newParentId: 't1', lookup })).toBe(3);
  });

  it('never accepts a cycle, and agrees with a brute-force walk of random forests', () => {
    const forest = fc.integer({ min: 1, max: 25 }).chain((n) =>
      fc.tuple(
        // Node i picks its parent among earlier nodes (or none): always a forest.
        fc.tuple(...ids(n).map((_, i) => (i === 0 ? fc.constant(null) : fc.option(fc.integer({ min: 0, max: i - 1 }), { nil: null })))),
        fc.integer({ min: 0, max: n - 1 }),
        fc.option(fc.integer({ min: 0, max: n }), { nil: null }), // n = an unknown template
      ),
    );
    fc.assert(
      fc.property(forest, ([parentIndexes, child, parent]) => {
        const parents = new Map(parentIndexes.map((p, i) => [`t${i}`, p === null ? null : `t${p}`]));
        const templateId = `t${child}`;
        const newParentId = parent === null ? null : `t${parent}`;
        // Brute force: walk up from the new parent through the snapshot.
        let expected: string | undefined;
        if (newParentId !== null) {
          if (newParentId === templateId) expected = 'template.parent.self';
          else if (!parents.has(newParentId)) expected = 'template.parent.not_found';
          else {
            const chain: string[] = [];
            for (let at: string | null = newParentId; at !== null; at = parents.get(at) ?? null) chain.push(at);
            if (chain.includes(templateId)) expected = 'template.parent.cycle';
            else if (chain.length + 1 > MAX_INHERITANCE_DEPTH) expected = 'template.parent.depth';
          }
        }
        const violation = refused(() => validateParentChain({ templateId, newParentId, lookup: lookupOf(parents) }));
        expect(violation?.rule).toBe(expected);
        if (violation === undefined) {
          // Accepted: applying it leaves every template's ancestry finite and acyclic.
          const after = new Map(parents).set(templateId, newParentId);
          for (const start of after.keys()) {
            const seen = new Set<string>();
            for (let at: string | null = start; at !== null; at = after.get(at) ?? null) {
              expect(seen.has(at)).toBe(false);
              seen.add(at);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a loop already present above the new parent', () => {
    const parents = new Map<string, string | null>([
      ['a', 'b'],
      ['b', 'a'],
    ]);
    expect(refused(() => validateParentChain({ templateId: 'x', newParentId: 'a', lookup: lookupOf(parents) }))).toMatchObject({
      rule: 'template.parent.cycle',
    });
  });

  it('works for every strategy name exported', () => {
    const all: readonly MergeStrategy[] = MERGE_STRATEGIES;
    expect(all).toEqual(['override', 'merge', 'extend', 'selective']);
  });
});

describe('effective participant bounds', () => {
  const bound = fc.option(fc.integer({ min: 1, max: 30 }), { nil: null });
  const bounds = fc.record({ defaultMinParticipants: bound, defaultMaxParticipants: bound });

  it('are what effectiveTemplate folds, and are refused exactly when the effective minimum exceeds the maximum', () => {
    fc.assert(
      fc.property(fc.array(bounds, { minLength: 1, maxLength: 10 }), (chain) => {
        const layers = chain.map((b) => ({
          ...b,
          dynamicProperties: {},
          validationRules: {},
          uiConfiguration: {},
          mergeStrategy: 'merge' as const,
          selectiveKeys: [],
          description: null,
          categoryId: null,
          defaultDuration: null,
          defaultPrice: null,
          defaultSkillLevel: null,
        }));
        const folded = effectiveTemplate(layers);
        const { min, max } = effectiveParticipants(chain);
        expect([min, max]).toEqual([folded.defaultMinParticipants, folded.defaultMaxParticipants]);
        let violation: RuleViolation | undefined;
        try {
          validateEffectiveParticipants(chain, 'defaultMinParticipants');
        } catch (error) {
          if (!(error instanceof RuleViolation)) throw error;
          violation = error;
        }
        const clash = min !== null && max !== null && min > max;
        expect(violation === undefined).toBe(!clash);
        if (violation)
          expect(violation).toMatchObject({
            rule: 'template.participants.effective_order',
            kind: 'unprocessable',
            field: 'defaultMinParticipants',
          });
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a child minimum above the inherited maximum, and accepts it once the child sets its own maximum', () => {
    const parent = { defaultMinParticipants: 2, defaultMaxParticipants: 10 };
    expect(() =>
      validateEffectiveParticipants([parent, { defaultMinParticipants: 20, defaultMaxParticipants: null }], 'defaultMinParticipants'),
    ).toThrow(RuleViolation);
    expect(() =>
      validateEffectiveParticipants([parent, { defaultMinParticipants: 20, defaultMaxParticipants: 25 }], 'defaultMinParticipants'),
    ).not.toThrow();
    expect(() =>
      validateEffectiveParticipants([parent, { defaultMinParticipants: null, defaultMaxParticipants: 1 }], 'defaultMaxParticipants'),
    ).toThrow(/minimum participants would exceed/);
  });
});
