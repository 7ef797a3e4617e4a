// compareChecksums: a drill passes exactly when both sides hold the same (table, tenant) pairs with the same
// counts and checksums, and every difference names a pair where they disagree (property).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareChecksums, type TableTenantChecksum } from '../../../src/processes/restores/read-model-checksums.js';

const entry = fc.record({
  table: fc.constantFrom('categories', 'templates', 'batches'),
  tenantId: fc.constantFrom('acme', 'globex', '*'),
  rows: fc.integer({ min: 1, max: 5 }),
  checksum: fc.constantFrom('a', 'b'),
});
const side = fc.uniqueArray(entry, { selector: (e) => `${e.table}/${e.tenantId}` });
const keyOf = (e: { table: string; tenantId: string }) => `${e.table}/${e.tenantId}`;

describe('compareChecksums', () => {
  it('is empty exactly when both sides agree on every (table, tenant), and names only pairs that disagree', () => {
    fc.assert(
      fc.property(side, side, (live: TableTenantChecksum[], restored: TableTenantChecksum[]) => {
        const differences = compareChecksums(live, restored);
        const same = (a: TableTenantChecksum[], b: TableTenantChecksum[]) =>
          a.length === b.length && a.every((x) => b.some((y) => keyOf(x) === keyOf(y) && x.rows === y.rows && x.checksum === y.checksum));
        expect(differences.length === 0).toBe(same(live, restored));
        for (const d of differences) {
          const l = live.find((e) => keyOf(e) === keyOf(d));
          const r = restored.find((e) => keyOf(e) === keyOf(d));
          expect(l && r && l.rows === r.rows && l.checksum === r.checksum).toBeFalsy();
        }
      }),
    );
  });

  it('compares with itself as equal', () => {
    fc.assert(
      fc.property(side, (s: TableTenantChecksum[]) => {
        expect(compareChecksums(s, [...s].reverse())).toEqual([]);
      }),
    );
  });
});
