// Regular expressions written by users (config template variable patterns) run here and only here, on a
// matcher whose time is linear in the input: the pattern becomes a bounded Thompson automaton, simulated
// over all of its states at once, so `^(a+)+$` costs the same as `^a+$` — no backtracking ever happens.
// The syntax is JavaScript's (flag `u`) without what needs backtracking: back-references, lookaround and
// `\b`/`\B` are refused. A JavaScript RegExp is used only to check the syntax (compiling runs nothing) and
// to test one code point against one character class or escape. `re2-wasm` was tried and refused: its
// fixed 16 MiB heap aborts the module for the whole process on `\p{L}{1,100}`, and the compiled programs
// of ordinary counted repetitions take seconds to build and to run.

/** The longest pattern accepted. */
export const USER_PATTERN_MAX = 500;
/** The most automaton states a pattern may expand to (`x{1,64}` is 64 copies of x): time per input
 * character is bounded by it. Where several patterns run for one request, their states together stay
 * under it too (see config-variables.ts). */
export const USER_PATTERN_STATES_MAX = 2000;
/** The longest text a pattern is tested on; a longer one never matches (cutting it off would let
 * `^a+$` pass a long text that ends otherwise). */
export const USER_PATTERN_INPUT_MAX = 4096;

export type UserPatternProblem = { readonly reason: 'length' | 'syntax' | 'unsupported' | 'complexity'; readonly message: string };
/** `states` measures the work per character of input: what a budget over several patterns adds up. */
export type UserPattern = { readonly source: string; readonly states: number; readonly test: (text: string) => boolean };

type Node =
  | { k: 'atom'; src: string }
  | { k: 'cat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'rep'; node: Node; min: number; max: number }
  | { k: 'bol' }
  | { k: 'eol' };

class Refusal extends Error {
  constructor(readonly problem: UserPatternProblem) {
    super(problem.message);
  }
}
const refuse = (reason: UserPatternProblem['reason'], message: string): never => {
  throw new Refusal({ reason, message });
};

/** Parses a pattern JavaScript already accepted (flag `u`), so only the shapes it allows are handled. */
function parse(source: string): Node {
  let at = 0;
  const peek = () => source[at];
  const until = (end: string) => {
    const close = source.indexOf(end, at);
    at = close + 1;
    return close;
  };
  const count = (digits: string) =>
    digits.length > 4 || Number(digits) > 1000 ? refuse('complexity', 'a repetition count is at most 1000') : Number(digits);

  function escape(): Node {
    const start = at;
    at += 1; // the backslash
    const c = source[at]!;
    at += 1;
    if (c === 'b' || c === 'B') refuse('unsupported', `\\${c} (a word boundary) is not supported`);
    if (/[1-9]/.test(c) || c === 'k') refuse('unsupported', 'back-references are not supported');
    if ((c === 'p' || c === 'P') && peek() === '{') until('}');
    else if (c === 'u' && peek() === '{') until('}');
    else if (c === 'u') {
      at += 4;
      // A surrogate pair written as two escapes is one code point.
      if (/^[dD][89abAB]/.test(source.slice(start + 2, start + 4)) && /^\\u[dD][c-fC-F]/.test(source.slice(at, at + 4))) at += 6;
    } else if (c === 'x') at += 2;
    else if (c === 'c') at += 1;
    return { k: 'atom', src: source.slice(start, at) };
  }

  function characterClass(): Node {
    const start = at;
    at += 1;
    if (peek() === '^') at += 1;
    while (at < source.length && peek() !== ']') at += peek() === '\\' ? 2 : 1;
    at += 1;
    return { k: 'atom', src: source.slice(start, at) };
  }

  function group(): Node {
    at += 1; // (
    if (peek() === '?') {
      const kind = source.slice(at, at + 3);
      if (kind.startsWith('?:')) at += 2;
      else if (kind.startsWith('?<') && kind !== '?<=' && kind !== '?<!') until('>');
      else refuse('unsupported', 'lookahead, lookbehind and modifier groups are not supported');
    }
    const inner = alternation();
    at += 1; // )
    return inner;
  }

  function atom(): Node {
    const c = peek()!;
    if (c === '^') return (at++, { k: 'bol' });
    if (c === '$') return (at++, { k: 'eol' });
    if (c === '(') return group();
    if (c === '[') return characterClass();
    if (c === '\\') return escape();
    const point = String.fromCodePoint(source.codePointAt(at)!);
    at += point.length;
    return { k: 'atom', src: point };
  }

  function quantified(node: Node): Node {
    const c = peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max, at] = [0, Infinity, at + 1];
    else if (c === '+') [min, max, at] = [1, Infinity, at + 1];
    else if (c === '?') [min, max, at] = [0, 1, at + 1];
    else if (c === '{') {
      const [, low, comma, high] = /^\{(\d+)(,?)(\d*)\}/.exec(source.slice(at, at + 24))!;
      at += source.indexOf('}', at) - at + 1;
      min = count(low!);
      max = comma ? (high ? count(high) : Infinity) : min;
    } else return node;
    if (peek() === '?') at += 1; // lazy or greedy: the same strings match
    return { k: 'rep', node, min, max };
  }

  function sequence(): Node {
    const items: Node[] = [];
    while (at < source.length && peek() !== '|' && peek() !== ')') items.push(quantified(atom()));
    return { k: 'cat', items };
  }

  function alternation(): Node {
    const items = [sequence()];
    while (peek() === '|') {
      at += 1;
      items.push(sequence());
    }
    return items.length === 1 ? items[0]! : { k: 'alt', items };
  }

  return alternation();
}

const CHAR = 0;
const SPLIT = 1;
const BOL = 2;
const EOL = 3;
const MATCH = 4;

/** The automaton: per state its kind, successors and (for CHAR) the index of its one-character test. */
type Automaton = { kind: number[]; out1: number[]; out2: number[]; test: number[]; tests: ((point: number) => boolean)[]; start: number };

function oneCharacterTest(src: string): (point: number) => boolean {
  const single = new RegExp(`^(?:${src})$`, 'u');
  const seen = new Map<number, boolean>();
  return (point) => {
    let hit = seen.get(point);
    if (hit === undefined) {
      if (seen.size >= 4096) seen.clear(); // a memo, not a store: bounded whatever the inputs
      seen.set(point, (hit = single.test(String.fromCodePoint(point))));
    }
    return hit;
  };
}

function build(root: Node): Automaton {
  const a: Automaton = { kind: [], out1: [], out2: [], test: [], tests: [], start: 0 };
  const testOf = new Map<string, number>();
  const state = (kind: number, out1 = -1, out2 = -1, test = -1) => {
    if (a.kind.length >= USER_PATTERN_STATES_MAX)
      refuse('complexity', `the pattern expands to more than ${USER_PATTERN_STATES_MAX} states; use fewer or smaller repetitions`);
    a.kind.push(kind);
    a.out1.push(out1);
    a.out2.push(out2);
    a.test.push(test);
    return a.kind.length - 1;
  };
  // Built back to front: each piece is compiled knowing the state that follows it.
  const compile = (node: Node, next: number): number => {
    switch (node.k) {
      case 'atom': {
        let test = testOf.get(node.src);
        if (test === undefined) testOf.set(node.src, (test = a.tests.push(oneCharacterTest(node.src)) - 1));
        return state(CHAR, next, -1, test);
      }
      case 'bol':
        return state(BOL, next);
      case 'eol':
        return state(EOL, next);
      case 'cat':
        return node.items.reduceRight((after, item) => compile(item, after), next);
      case 'alt': {
        const starts = node.items.map((item) => compile(item, next));
        return starts.reduceRight((after, start) => state(SPLIT, start, after));
      }
      case 'rep': {
        let tail = next;
        if (node.max === Infinity) {
          const loop = state(SPLIT, -1, next);
          a.out1[loop] = compile(node.node, loop);
          tail = loop;
        } else for (let i = node.min; i < node.max; i++) tail = state(SPLIT, compile(node.node, tail), tail);
        for (let i = 0; i < node.min; i++) tail = compile(node.node, tail);
        return tail;
      }
    }
  };
  a.start = compile(root, state(MATCH));
  return a;
}

/** Whether the automaton matches anywhere in the text: every state advanced together, one code point at a
 * time, so the work is at most (states × code points). */
function run(a: Automaton, text: string): boolean {
  const points = Array.from(text, (c) => c.codePointAt(0)!);
  const mark = new Int32Array(a.kind.length);
  let generation = 0;
  let matched = false;
  const stack: number[] = [];
  const hits = new Int8Array(a.tests.length);
  const addClosure = (list: number[], from: number, position: number) => {
    stack.push(from);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (s < 0 || mark[s] === generation) continue;
      mark[s] = generation;
      const kind = a.kind[s];
      if (kind === CHAR) list.push(s);
      else if (kind === MATCH) matched = true;
      else if (kind === SPLIT) stack.push(a.out2[s]!, a.out1[s]!);
      else if ((kind === BOL && position === 0) || (kind === EOL && position === points.length)) stack.push(a.out1[s]!);
    }
  };
  generation = 1;
  let current: number[] = [];
  addClosure(current, a.start, 0);
  for (let position = 0; ; position++) {
    if (matched) return true;
    if (position === points.length) return false;
    generation += 1;
    const next: number[] = [];
    const point = points[position]!;
    hits.fill(-1); // each distinct test runs at most once per character, however many states share it
    for (const s of current) {
      const t = a.test[s]!;
      if (hits[t] === -1) hits[t] = a.tests[t]!(point) ? 1 : 0;
      if (hits[t] === 1) addClosure(next, a.out1[s]!, position + 1);
    }
    addClosure(next, a.start, position + 1); // a match may begin at any position
    current = next;
  }
}

/** The pattern, ready to test values, or what is wrong with it. */
export function compileUserPattern(source: string): UserPattern | UserPatternProblem {
  if (source.length > USER_PATTERN_MAX) return { reason: 'length', message: `a pattern is at most ${USER_PATTERN_MAX} characters` };
  try {
    new RegExp(source, 'u'); // syntax only: compiling a RegExp runs nothing
  } catch {
    return { reason: 'syntax', message: 'the pattern is not a valid regular expression' };
  }
  try {
    const automaton = build(parse(source));
    return { source, states: automaton.kind.length, test: (text) => text.length <= USER_PATTERN_INPUT_MAX && run(automaton, text) };
  } catch (error) {
    if (error instanceof Refusal) return error.problem;
    throw error;
  }
}

const compiled = new Map<string, UserPattern | UserPatternProblem>();
const CACHE_MAX = 256;

/** compileUserPattern, remembered for the patterns used most recently (templates are rendered repeatedly). */
export function userPattern(source: string): UserPattern | UserPatternProblem {
  let found = compiled.get(source);
  if (found !== undefined) compiled.delete(source);
  else found = compileUserPattern(source);
  compiled.set(source, found);
  if (compiled.size > CACHE_MAX) compiled.delete(compiled.keys().next().value!);
  return found;
}

export const isUserPatternProblem = (value: UserPattern | UserPatternProblem): value is UserPatternProblem => 'reason' in value;
