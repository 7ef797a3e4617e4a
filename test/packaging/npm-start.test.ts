// `npm start` as a user runs it (#7.18, #7.24): it builds the JavaScript, serves /health from it, and a
// SIGTERM sent to the npm process stops the server and everything npm started — a supervisor (systemd,
// a container runtime, a CI job) signals the process it started, which is npm.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  descendantsOf,
  freePort,
  isAlive,
  isListening,
  killGroup,
  projectRoot,
  runNpm,
  waitForHealth,
  waitUntil,
  type StartedProcess,
} from './processes.js';

const started: StartedProcess[] = [];
const dataDirs: string[] = [];
afterAll(() => {
  for (const process of started) killGroup(process);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves /health, and SIGTERM to the npm process closes the port and ends every child', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-start-'));
    dataDirs.push(dataDir);
    const port = await freePort();
    const since = Date.now();
    const npm = runNpm(['start'], { DATA_DIR: dataDir, PORT: String(port) });
    started.push(npm);
    const elapsed = await waitForHealth(port, since, 150_000, npm);
    console.info(`[npm start] first 200 on /health after ${elapsed} ms`);

    const children = descendantsOf(npm.child.pid!);
    expect(children.length).toBeGreaterThan(0);
    npm.child.kill('SIGTERM');

    expect(await waitUntil(async () => !(await isListening(port)), 15_000), `port ${port} still listening:\n${npm.output()}`).toBe(true);
    expect(
      await waitUntil(() => children.every((pid) => !isAlive(pid)), 15_000),
      `children still running: ${children.filter(isAlive).join(', ')}`,
    ).toBe(true);
    const { code, signal } = await npm.exited;
    // A graceful stop: npm reports the server's own exit code 0, or ends by the signal it was sent.
    expect(code === 0 || signal === 'SIGTERM', `npm exited with ${code ?? signal}:\n${npm.output()}`).toBe(true);
  });

  it('runs on production dependencies only: every package dist/ imports is in "dependencies"', { timeout: 180_000 }, () => {
    // dist/ as `npm start` builds it (--noCheck): the same JavaScript as `npm run build`, without a full typecheck
    // (a minute on a loaded machine; the typecheck step does it), and at once when the first test built it.
    execFileSync(process.execPath, [join(projectRoot, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json', '--noCheck'], {
      cwd: projectRoot,
      stdio: 'pipe',
    });
    const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    for (const file of listFiles(join(projectRoot, 'dist')).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(
        /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
      )) {
        const specifier = match[1] ?? match[2]!;
        if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const parts = specifier.split('/');
        imported.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    const missing = [...imported].filter((name) => !(name in manifest.dependencies));
    expect(missing, 'imported at runtime but not a production dependency').toEqual([]);
    // tsx compiles TypeScript on the fly; the built service must not need it.
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
