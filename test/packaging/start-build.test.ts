// `npm start`'s build step (scripts/build.mjs) on a fresh copy of the project: it transpiles src/ to dist/
// when dist/ is missing or older than a source, and leaves dist/ alone otherwise, so a restart does not
// pay for a compile.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './processes.js';

const copy = mkdtempSync(join(tmpdir(), 'kyo-build-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('npm start build step', () => {
  it('builds dist/ once, skips it while nothing changed, and builds again after a source changes', { timeout: 120_000 }, () => {
    for (const entry of ['src', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json'])
      cpSync(join(projectRoot, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(projectRoot, 'node_modules'), join(copy, 'node_modules'));
    const build = () => execFileSync('node', ['scripts/build.mjs'], { cwd: copy, stdio: 'pipe' });
    const built = () => statSync(join(copy, 'dist', 'config.js')).mtimeMs;

    build();
    expect(readFileSync(join(copy, 'dist', 'main.js'), 'utf8')).toContain('startService');
    const first = built();
    // Sources older than the build: nothing to do.
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(copy, 'dist', 'config.js'), past, past);
    build();
    // Left alone: its mtime is still the one set (to the millisecond: mtimeMs is a float of nanoseconds).
    expect(Math.round(built())).toBe(past.getTime());

    // A source newer than the last build: built again.
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(copy, 'src', 'config.ts'), future, future);
    build();
    expect(built()).toBeGreaterThan(past.getTime());
    expect(first).toBeGreaterThan(0);
  });
});
