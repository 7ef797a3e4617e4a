// README links must work in a fresh clone: every relative link points at a file of the repository.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function relativeLinks(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^(https?:|mailto:|#)/.test(target));
}

describe('documentation links', () => {
  for (const file of ['README.md', 'docs/architecture.md']) {
    it(`${file} links only to files inside the repository`, () => {
      for (const link of relativeLinks(file)) {
        const target = resolve(root, dirname(file), link.split('#')[0]!);
        expect([link, relative(root, target).startsWith('..')]).toEqual([link, false]);
        expect([link, existsSync(target)]).toEqual([link, true]);
      }
    });
  }

  it('README links to the architecture in the repository', () => {
    expect(relativeLinks('README.md')).toContain('docs/architecture.md');
  });
});
