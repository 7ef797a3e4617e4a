// `npm run keys:create` against the embedded database (#7.19). PGlite serves one process: a second process
// that opens the same data directory writes where the running service never looks (and may corrupt it), so
// a key it printed never worked. The rule: a key printed with exit code 0 authenticates; while the service
// holds the directory the command refuses, names the directory and the service's pid, and prints no key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killGroup, runBuilt, runNpm, waitForHealth, type StartedProcess } from '../packaging/processes.js';

const started: StartedProcess[] = [];
const dataDirs: string[] = [];
afterAll(() => {
  for (const process of started) killGroup(process);
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** The service compiled (test/support/built-source.ts) and run by node: one process, so SIGTERM reaches it directly. */
async function startService(dataDir: string, port: number): Promise<StartedProcess> {
  const service = await runBuilt('main', [], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  started.push(service);
  return service;
}

async function createKey(dataDir: string): Promise<{ code: number | null; output: string; key: string | undefined }> {
  const run = runNpm(['run', 'keys:create', '--', '--tenant', 'acme', '--user', 'alice', '--permissions', 'admin'], { DATA_DIR: dataDir });
  started.push(run);
  const { code } = await run.exited;
  const key = run
    .output()
    .split('\n')
    .find((line) => /^kyo_\S+$/.test(line.trim()));
  return { code, output: run.output(), key: key?.trim() };
}

describe('npm run keys:create with the embedded database', () => {
  it('refuses while the service runs, and the key it creates once the service is stopped works', { timeout: 240_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-keys-'));
    dataDirs.push(dataDir);
    const port = await freePort();
    const service = await startService(dataDir, port);
    await waitForHealth(port, Date.now(), 120_000, service);

    const whileRunning = await createKey(dataDir);
    if (whileRunning.code === 0) {
      // Printed with success: then it must work against the running service.
      const response = await fetch(`http://127.0.0.1:${port}/v1/categories`, { headers: { authorization: `Bearer ${whileRunning.key}` } });
      expect(response.status, `keys:create exited 0 and printed a key that the running service answers ${response.status} to`).toBe(200);
    } else {
      expect(whileRunning.key, 'no key is printed when the command fails').toBeUndefined();
      expect(whileRunning.output).toContain(dataDir);
      expect(whileRunning.output).toContain(`pid ${service.child.pid}`);
    }

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);

    const whileStopped = await createKey(dataDir);
    expect(whileStopped.code, whileStopped.output).toBe(0);
    expect(whileStopped.key).toMatch(/^kyo_/);

    const restarted = await startService(dataDir, port);
    await waitForHealth(port, Date.now(), 120_000, restarted);
    const response = await fetch(`http://127.0.0.1:${port}/v1/categories`, { headers: { authorization: `Bearer ${whileStopped.key}` } });
    expect(response.status).toBe(200);
    restarted.child.kill('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
  });
});
