// The one status path of the template lifecycle, which restores and batch undos both follow: every move
// on it is an allowed transition, it ends where asked, and no shorter chain of allowed moves exists.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_STATUS_TRANSITIONS, canTransition, statusPath } from '../../../src/domain/templates/index.js';
import type { TemplateStatus } from '../../../src/domain/templates/template-content.js';

const STATUSES = Object.keys(TEMPLATE_STATUS_TRANSITIONS) as TemplateStatus[];
const status = fc.constantFrom(...STATUSES);

/** Every status reachable in exactly `moves` allowed moves from `from`. */
function reachableIn(from: TemplateStatus, moves: number): Set<TemplateStatus> {
  let at = new Set([from]);
  for (let i = 0; i < moves; i++) at = new Set([...at].flatMap((s) => TEMPLATE_STATUS_TRANSITIONS[s]));
  return at;
}

describe('statusPath', () => {
  it('walks allowed moves only, ends at the target, and is the shortest such walk', () => {
    fc.assert(
      fc.property(status, status, (from, to) => {
        const path = statusPath(from, to);
        [from, ...path].slice(0, -1).forEach((at, i) => expect(canTransition(at, path[i]!)).toBe(true));
        expect(path.at(-1) ?? from).toBe(to);
        for (let shorter = 0; shorter < path.length; shorter++) expect(reachableIn(from, shorter).has(to)).toBe(false);
      }),
    );
  });

  it('leaves archived through draft', () => {
    expect(statusPath('archived', 'deprecated')).toEqual(['draft', 'active', 'deprecated']);
    expect(statusPath('deprecated', 'draft')).toEqual(['archived', 'draft']);
    expect(statusPath('active', 'active')).toEqual([]);
  });
});
