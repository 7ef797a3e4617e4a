// The edge check on its own: any JSON without NUL or lone surrogates and within the depth passes; one bad
// string (or key) anywhere is found and named by its path; depth is checked without recursion.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_DEPTH, inspectInput } from '../../src/http/input-guard.js';

const cleanString = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));
const cleanJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    cleanString,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(cleanString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const badText = fc.constantFrom('\u0000', 'a\u0000', '\ud800', 'x\udfff', '\udbff\ud800');

/** Places `leaf` at the end of `path` inside a copy of nothing but that path. */
function at(path: (string | number)[], leaf: unknown): unknown {
  let value = leaf;
  for (const key of [...path].reverse())
    value = typeof key === 'number' ? Object.assign(new Array(key + 1).fill(0), { [key]: value }) : { [key]: value };
  return value;
}

describe('inspectInput', () => {
  it('passes every clean JSON value', () => {
    fc.assert(fc.property(cleanJson, (value) => inspectInput(value, 'body') === undefined));
  });

  it('finds a bad string value anywhere and names its path', () => {
    const segment = fc.oneof(fc.stringMatching(/^[a-z]{1,5}$/), fc.nat({ max: 3 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 10 }), badText, (path, bad) => {
        expect(inspectInput(at(path, bad), 'body')).toEqual(
          expect.objectContaining({ field: ['body', ...path].join('.'), rule: 'text.characters' }),
        );
      }),
    );
  });

  it('finds a bad key and keeps well-formed surrogate pairs', () => {
    expect(inspectInput({ a: { 'k\u0000': 1 } }, 'body')).toMatchObject({ field: 'body.a.k\\u0000', rule: 'text.characters' });
    expect(inspectInput({ a: { '\ud83d': 1 } }, 'query')).toMatchObject({ field: 'query.a.\\ud83d' });
    expect(inspectInput({ emoji: '\ud83d\ude00', kanji: '漢字' }, 'body')).toBeUndefined();
  });

  it('refuses nesting past the limit at any depth without recursing, naming the top-level field', () => {
    const deep = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
      return value;
    };
    expect(inspectInput({ f: deep(MAX_REQUEST_DEPTH - 1) }, 'body')).toBeUndefined();
    expect(inspectInput({ f: deep(MAX_REQUEST_DEPTH) }, 'body')).toMatchObject({ field: 'body.f', rule: 'json.depth' });
    expect(inspectInput({ f: deep(200_000) }, 'body')).toMatchObject({ field: 'body.f', rule: 'json.depth' });
  });
});
