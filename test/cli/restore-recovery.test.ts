// #15.9/#15.10: a data directory restored by `npm run restore` is usable as it stands. The procedure the
// README gives, end to end on the embedded store: back up (full) → restore into a new directory → start →
// read a secret config (and re-wrap its data key, which needs the key-encryption key) → resume. The
// restored instance starts with side effects paused (visible in /ready), so the backup that was running at
// the cut is not re-run until an operator resumes. Without the key-encryption key in the backup (it is
// never there unencrypted), the restore asks for SECRETS_KEY, checks it opens the sealed secrets, and
// refuses a wrong or missing one with nothing written.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { killGroup, runBuilt, type StartedProcess } from '../packaging/processes.js';

const started: StartedProcess[] = [];
const dirs: string[] = [];
const services: Service[] = [];
afterAll(async () => {
  for (const service of services) await service.close().catch(() => undefined);
  for (const process of started) killGroup(process);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
const NO_KEYS = { SECRETS_KEY: '', SECRETS_KEY_PREVIOUS: '', BACKUP_ENCRYPTION_KEY: '', DATABASE_URL: '', REDIS_URL: '' };

/** `key`: the platform key to use when the data directory holds none (a restore without key material). */
async function start(dataDir: string, env: Record<string, string> = {}, key?: string): Promise<{ service: Service; key: string }> {
  const service = await startService(
    loadConfig({ ...NO_KEYS, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }),
    pino({ level: 'silent' }),
    {
      defaultMetrics: false,
    },
  );
  services.push(service);
  const file = join(dataDir, 'bootstrap-api-key');
  return { service, key: key ?? readFileSync(file, 'utf8').trim() };
}

async function stop(service: Service): Promise<void> {
  services.splice(services.indexOf(service), 1);
  await service.close();
}

function call(service: Service, key: string, method: 'GET' | 'POST', url: string, body?: object) {
  return service.http.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });
}

async function fullBackup(service: Service, key: string): Promise<string> {
  const accepted = await call(service, key, 'POST', '/v1/backups', { name: 'disaster', type: 'full', scope: { allTenants: true } });
  expect(accepted.statusCode, accepted.body).toBe(202);
  const { backupId } = accepted.json();
  for (let i = 0; i < 600; i++) {
    const status = (await call(service, key, 'GET', `/v1/backups/${backupId}`)).json().status;
    if (status === 'completed') return backupId;
    expect(status).not.toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the backup did not complete');
}

async function restore(from: string, backupId: string, target: string, env: Record<string, string>) {
  // The CLI `npm run restore` runs, compiled (test/cli/restore.test.ts runs it through npm once).
  const run = await runBuilt('cli/restore', ['--from', from, '--backup', backupId, '--target', target], { ...NO_KEYS, ...env });
  started.push(run);
  const { code } = await run.exited;
  return { code, output: run.output() };
}

describe('a restored data directory is usable as it stands (PGlite)', () => {
  it('back up → restore into a new directory → start paused → read a secret config → resume', async () => {
    const source = tempDir('kyo-recovery-source-');
    const backupKey = randomBytes(32).toString('hex');
    const { service, key } = await start(source, { BACKUP_ENCRYPTION_KEY: backupKey });
    const created = await call(service, key, 'POST', '/v1/configs', { name: 'db', type: 'secret', data: { PASSWORD: 'hunter2-recovery' } });
    expect(created.statusCode, created.body).toBe(201);
    const { configId } = created.json();
    // API keys live beside the log (api_keys): a full backup carries their hashes, revoked ones as revoked.
    const tenantKey = await service.apiKeys.create({ tenantId: 'acme', userId: 'ada', name: 'acme admin', permissions: ['admin'] });
    const revokedKey = await service.apiKeys.create({ tenantId: 'acme', userId: 'eve', name: 'gone', permissions: ['admin'] });
    expect(await service.apiKeys.revoke('acme', revokedKey.keyId)).toBe(true);
    const backupId = await fullBackup(service, key);
    await stop(service);

    const target = join(tempDir('kyo-recovery-target-'), 'data');
    const restored = await restore(join(source, 'backups'), backupId, target, { BACKUP_ENCRYPTION_KEY: backupKey });
    expect(restored.output).toMatch(/open with the key from backup/);
    expect(restored.code, restored.output).toBe(0);
    expect(restored.output).toMatch(/restored 3 api keys/);
    // The encrypted backup carried the key-encryption key: the same one is back.
    expect(readFileSync(join(target, 'secrets-key'), 'utf8')).toBe(readFileSync(join(source, 'secrets-key'), 'utf8'));

    const copy = await start(target, { BACKUP_ENCRYPTION_KEY: backupKey });
    const ready = await copy.service.http.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toContainEqual(
      expect.objectContaining({ name: 'side-effects', ok: false, error: expect.stringMatching(/paused/) }),
    );
    expect((await call(copy.service, copy.key, 'GET', '/v1/admin/side-effects')).json()).toMatchObject({ state: 'paused' });
    // No process manager runs: the backup that was running at the cut is not re-run.
    expect(copy.service.processes.states().every((state) => state.state === 'stopped')).toBe(true);
    const config = await call(copy.service, copy.key, 'GET', `/v1/configs/${configId}?minPosition=${created.json().position}`);
    expect(config.statusCode, config.body).toBe(200);
    expect(config.body).not.toContain('hunter2-recovery');
    const rewrap = await call(copy.service, copy.key, 'POST', '/v1/configs/rewrap', {});
    expect(rewrap.statusCode, rewrap.body).toBeLessThan(300);
    // The key made before the backup authenticates on the restored instance; the revoked one stays revoked.
    expect((await call(copy.service, copy.key, 'GET', '/v1/api-keys')).statusCode).toBe(200);
    expect((await call(copy.service, tenantKey.apiKey, 'GET', '/v1/configs')).statusCode).toBe(200);
    expect((await call(copy.service, revokedKey.apiKey, 'GET', '/v1/configs')).statusCode).toBe(401);

    const resumed = await call(copy.service, copy.key, 'POST', '/v1/admin/side-effects/resume');
    expect(resumed.json()).toMatchObject({ state: 'running' });
    expect((await copy.service.http.inject({ method: 'GET', url: '/ready' })).json().checks).toContainEqual(
      expect.objectContaining({ name: 'side-effects', ok: true }),
    );
    expect(copy.service.processes.states().some((state) => state.state !== 'stopped')).toBe(true);
    await stop(copy.service);
    // Resumed is stored: a restart does not pause again.
    const again = await start(target, { BACKUP_ENCRYPTION_KEY: backupKey });
    expect((await call(again.service, again.key, 'GET', '/v1/admin/side-effects')).json()).toMatchObject({ state: 'running' });
    await stop(again.service);

    // Restoring again into the now live directory is refused before any file is touched: its files (the
    // key-encryption key first) are neither overwritten nor removed.
    const secretsKey = readFileSync(join(target, 'secrets-key'), 'utf8');
    const refused = await restore(join(source, 'backups'), backupId, target, { BACKUP_ENCRYPTION_KEY: backupKey });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/not empty/);
    expect(readFileSync(join(target, 'secrets-key'), 'utf8')).toBe(secretsKey);
  }, 300_000);

  it('an unencrypted backup holds no key: the restore asks for SECRETS_KEY and checks it opens the sealed secrets', async () => {
    const source = tempDir('kyo-recovery-plain-');
    const { service, key } = await start(source);
    const created = await call(service, key, 'POST', '/v1/configs', { name: 'db', type: 'secret', data: { PASSWORD: 'hunter2-plain' } });
    expect(created.statusCode, created.body).toBe(201);
    const backupId = await fullBackup(service, key);
    await stop(service);
    const secretsKey = readFileSync(join(source, 'secrets-key'), 'utf8').trim();
    const from = join(source, 'backups');

    const base = tempDir('kyo-recovery-plain-target-');
    const missing = await restore(from, backupId, join(base, 'a'), {});
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/set SECRETS_KEY to the key of the backed-up instance/);
    const wrong = await restore(from, backupId, join(base, 'b'), { SECRETS_KEY: randomBytes(32).toString('base64') });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/does not open the sealed secrets/);
    for (const name of ['a', 'b']) {
      const left = existsSync(join(base, name)) ? readdirSync(join(base, name)) : [];
      expect(left.filter((entry) => entry !== 'pglite' && entry !== 'kyo.pid')).toEqual([]);
    }
    const right = await restore(from, backupId, join(base, 'c'), { SECRETS_KEY: secretsKey });
    expect(right.output).toMatch(/open with the key from SECRETS_KEY/);
    expect(right.code, right.output).toBe(0);
    expect(existsSync(join(base, 'c', 'secrets-key'))).toBe(false);
    // No key material in the clear: the bootstrap key's file stayed out, but its hash came back, so the
    // platform key of the backed-up instance works on the copy (and no new bootstrap key is made).
    expect(existsSync(join(base, 'c', 'bootstrap-api-key'))).toBe(false);
    const copy = await start(join(base, 'c'), { SECRETS_KEY: secretsKey }, key);
    expect(existsSync(join(base, 'c', 'bootstrap-api-key'))).toBe(false);
    expect((await call(copy.service, key, 'GET', '/v1/admin/side-effects')).statusCode).toBe(200);
    const rewrap = await call(copy.service, copy.key, 'POST', '/v1/configs/rewrap', {});
    expect(rewrap.statusCode, rewrap.body).toBeLessThan(300);
    await stop(copy.service);
  }, 300_000);
});
