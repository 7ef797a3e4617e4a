// User patterns run on a linear-time matcher: the same answers as JavaScript's RegExp for every pattern it
// accepts (fast-check over a grammar of them), patterns that backtrack exponentially answer on inputs no
// backtracking engine could finish, and what needs backtracking (back-references, lookaround, \b) or would
// expand past the state bound is refused. And no other src file compiles a RegExp from a runtime value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileUserPattern,
  isUserPatternProblem,
  USER_PATTERN_INPUT_MAX,
  USER_PATTERN_MAX,
  USER_PATTERN_STATES_MAX,
  type UserPattern,
} from '../../src/domain/user-pattern.js';

const compiled = (source: string): UserPattern => {
  const pattern = compileUserPattern(source);
  if (isUserPatternProblem(pattern)) throw new Error(`${source}: ${pattern.message}`);
  return pattern;
};

const atom = fc.constantFrom(
  'a',
  'b',
  'x',
  '.',
  '[ab]',
  '[^a]',
  '[a-c]',
  '\\d',
  '\\w',
  '\\s',
  '\\S',
  'é',
  '\\u00e9',
  '\\p{L}',
  '[]',
  '[^]',
);
const pattern: fc.Arbitrary<string> = fc.letrec<{ alt: string; seq: string; term: string }>((tie) => ({
  term: fc.oneof(
    { maxDepth: 2, depthIdentifier: 'group' },
    { weight: 4, arbitrary: atom },
    { weight: 1, arbitrary: tie('alt').map((inner) => `(${inner})`) },
    { weight: 1, arbitrary: tie('alt').map((inner) => `(?:${inner})`) },
  ),
  seq: fc
    .array(
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc.tuple(tie('term'), fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?', '{0,2}?')),
        },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('^', '$'), fc.constant('')) },
      ),
      { maxLength: 3 },
    )
    .map((parts) => parts.map(([t, q]) => t + q).join('')),
  alt: fc.array(tie('seq'), { minLength: 1, maxLength: 2 }).map((parts) => parts.join('|')),
})).alt;
const input = fc.array(fc.constantFrom('a', 'b', 'x', '1', ' ', '\n', 'é', '😀'), { maxLength: 8 }).map((cs) => cs.join(''));

describe('user patterns', () => {
  it('answer as JavaScript’s RegExp does, for every pattern they accept', () => {
    fc.assert(
      fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 6 }), (source, texts) => {
        const ours = compiled(source);
        const theirs = new RegExp(source, 'u');
        for (const text of texts) expect([source, text, ours.test(text)]).toEqual([source, text, theirs.test(text)]);
      }),
      { numRuns: 400 },
    );
  });

  it('match patterns that backtrack exponentially, on inputs far beyond what backtracking could finish', () => {
    const long = 'a'.repeat(USER_PATTERN_INPUT_MAX - 1);
    // Each of these would take longer than the universe's age on a backtracking engine (2^4095 paths).
    for (const evil of ['^(a+)+$', '^(a|a)*$', '^(a*)*$', '^(\\w+\\s?)*$', '(a|aa)+b', '^(?:a{1,10}){1,10}$', '^(.{1,400}){1,2}$'])
      expect([evil, compiled(evil).test(`${long}!`)]).toEqual([evil, false]);
    expect(compiled('^(a+)+$').test(long)).toBe(true);
    expect(compiled('^(a|a)*!$').test(`${long}!`)).toBe(true);
    // A longer text never matches, rather than being cut to a prefix that would.
    expect(compiled('^a+$').test('a'.repeat(USER_PATTERN_INPUT_MAX + 1))).toBe(false);
    expect(compiled('a').test('a'.repeat(100_000))).toBe(false);
  });

  it('handle anchors, classes, escapes, surrogate pairs and counted repetitions like JavaScript', () => {
    const cases: [string, string, boolean][] = [
      ['^[a-z.]+$', 'a.example', true],
      ['^[a-z.]+$', 'A!', false],
      ['^\\d{3}-\\d{4}$', '555-1234', true],
      ['^\\d{3}-\\d{4}$', '555-12345', false],
      ['^(?<major>\\d+)\\.(\\d+)$', '10.2', true],
      ['^\\uD83D\\uDE00$', '😀', true],
      ['^\\u{1F600}$', '😀', true],
      ['^.$', '😀', true],
      ['^\\p{Lu}\\P{Lu}*$', 'Émile', true],
      ['^[^\\]]+$', 'a]', false],
      ['^\\x41\\cJ$', 'A\n', true],
      ['^(?:[a-z0-9-]{1,63}\\.){1,8}[a-z]{2,24}$', 'api.example.com', true],
      ['', 'anything', true],
      ['a|', 'b', true],
    ];
    for (const [source, text, expected] of cases) {
      expect([source, text, new RegExp(source, 'u').test(text)]).toEqual([source, text, expected]);
      expect([source, text, compiled(source).test(text)]).toEqual([source, text, expected]);
    }
  });

  it('refuse what needs backtracking, bad syntax, and patterns too long or too big, saying why', () => {
    const refused: [string, string][] = [
      ['(a)\\1', 'unsupported'],
      ['(?<x>a)\\k<x>', 'unsupported'],
      ['(?=a)a', 'unsupported'],
      ['(?!a)b', 'unsupported'],
      ['(?<=a)b', 'unsupported'],
      ['(?<!a)b', 'unsupported'],
      ['\\bword\\b', 'unsupported'],
      ['(', 'syntax'],
      ['a{2,1}', 'syntax'],
      ['\\q', 'syntax'],
      ['(a{1,1000}){1,1000}', 'complexity'],
      ['a{100000}', 'complexity'],
      [`[a-z]{${USER_PATTERN_STATES_MAX + 1}}`, 'complexity'],
      ['((((a{1,9}){1,9}){1,9}){1,9})', 'complexity'],
      ['a'.repeat(USER_PATTERN_MAX + 1), 'length'],
    ];
    for (const [source, reason] of refused) {
      const result = compileUserPattern(source);
      expect([source.slice(0, 40), isUserPatternProblem(result) ? result.reason : 'accepted']).toEqual([source.slice(0, 40), reason]);
    }
    expect(isUserPatternProblem(compileUserPattern('[\\b]'))).toBe(false); // a backspace in a class is a character
  });

  it('is the only place in src that compiles a RegExp from a value known only at run time', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const offenders = files('src')
      .filter((file) => !file.endsWith(join('domain', 'user-pattern.ts')))
      // A RegExp built from a template literal of constants is fine; from a variable it is a user's pattern.
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bRegExp\(\s*([^`'"/\s])/g)].map((m) => `${file}: RegExp(${m[1]}…`));
    expect(offenders).toEqual([]);
  });
});
