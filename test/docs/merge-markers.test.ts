// Eight branches merge into main in one afternoon: a conflict left in a file prettier does not parse as
// code (Markdown, YAML, shell) would otherwise land silently.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const marker = /^(<{7}|={7}|>{7})( |$)/m;

describe('merge conflict markers', () => {
  it('no tracked text file holds one', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((file) => /\.(ts|md|json|ya?ml|sh|txt)$|^\.ci\/run$|^Dockerfile$/.test(file));
    expect(files.length).toBeGreaterThan(50);
    const withMarkers = files.filter((file) => marker.test(readFileSync(join(root, file), 'utf8')));
    expect(withMarkers).toEqual([]);
  });
});
