// The order test files start in: longest recorded first, unknown files by the median, the same every time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slowestFirst } from './slowest-first.js';

const file = fc.stringMatching(/^test\/[a-z]{1,6}\.test\.ts$/);
const recorded = fc.dictionary(file, fc.integer({ min: 1, max: 300 }));

describe('slowest first', () => {
  it('orders the files it is given by recorded duration, longest first, keeping every file once', () => {
    fc.assert(
      fc.property(recorded, fc.uniqueArray(file), (durations, extra) => {
        const files = [...new Set([...Object.keys(durations), ...extra])];
        const unknown = 42;
        const ordered = slowestFirst(files, durations, unknown);
        expect([...ordered].sort()).toEqual([...files].sort());
        const seconds = ordered.map((f) => durations[f] ?? unknown);
        for (let i = 1; i < seconds.length; i++) expect(seconds[i - 1]).toBeGreaterThanOrEqual(seconds[i]!);
      }),
    );
  });

  it('is the same order whatever order the files come in (ties by path)', () => {
    fc.assert(
      fc.property(recorded, fc.uniqueArray(file), (durations, extra) => {
        const files = [...new Set([...Object.keys(durations), ...extra])];
        expect(slowestFirst([...files].reverse(), durations)).toEqual(slowestFirst(files, durations));
      }),
    );
  });

  it('puts a file with no record at the median of the record: neither first nor last', () => {
    const durations = { 'test/a.test.ts': 200, 'test/b.test.ts': 30, 'test/c.test.ts': 2 };
    expect(slowestFirst(['test/c.test.ts', 'test/new.test.ts', 'test/b.test.ts', 'test/a.test.ts'], durations)).toEqual([
      'test/a.test.ts',
      'test/b.test.ts',
      'test/new.test.ts',
      'test/c.test.ts',
    ]);
  });
});
