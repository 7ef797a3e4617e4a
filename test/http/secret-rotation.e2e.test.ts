// Key-encryption key rotation with the real service on embedded PGlite: a secret written under key A is
// still opened after a restart with key B (A as previous), re-wrapped by POST /v1/configs/rewrap, and then
// opened with B alone — its ciphertext untouched, nothing re-deployed. And the embedded default: a key
// generated into DATA_DIR (0600) survives a restart.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { environmentDirectoryFor } from '../../src/features/environment-directory.js';
import type { FeatureDeps } from '../../src/features/feature-module.js';
import { UnknownKeyError } from '../../src/ports/secret-keyring.js';
import { startService, type Service } from '../../src/service.js';

describe('secret key rotation with the real service', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kyo-rotation-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const keyA = randomBytes(32).toString('base64');
  const keyB = randomBytes(32).toString('hex');

  async function withService<T>(
    settings: Record<string, string>,
    run: (service: Service, config: Config, key: string) => Promise<T>,
  ): Promise<T> {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...settings });
    const service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
    try {
      return await run(service, config, readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim());
    } finally {
      await service.close();
    }
  }
  const call = (service: Service, key: string, method: 'GET' | 'POST', url: string, body?: object) =>
    service.http.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });
  const directory = (service: Service, config: Config) =>
    environmentDirectoryFor({
      commands: { eventStore: service.eventStore, clock: () => new Date() },
      config,
      logger: pino({ level: 'silent' }),
    } as unknown as FeatureDeps);

  // Three starts of the whole service, the first one creating the PGlite database (its initdb in WASM took 11.7 s
  // of the 60 s default at load 17, a reopen 2–3 s): more than the default allows on a loaded machine.
  it('re-wraps data keys under a new key without touching the ciphertext', { timeout: 180_000 }, async () => {
    const { environmentId, configId } = await withService({ SECRETS_KEY: keyA }, async (service, _config, key) => {
      const env = (
        await call(service, key, 'POST', '/v1/environments', { name: 'Prod', type: 'production', orchestrator: 'docker' })
      ).json();
      const created = await call(service, key, 'POST', '/v1/configs', {
        name: 'api',
        type: 'secret',
        data: { TOKEN: 'rotate-me' },
        environmentId: env.environmentId,
      });
      expect(created.statusCode).toBe(201);
      // Read models catch up before the service closes, so the re-wrap finds the secret in the list.
      await call(service, key, 'GET', `/v1/configs/${created.json().configId}?minPosition=${created.json().position}`);
      return { environmentId: env.environmentId as string, configId: created.json().configId as string };
    });
    const [sealedBefore] = await withService({ SECRETS_KEY: keyB, SECRETS_KEY_PREVIOUS: keyA }, async (service, config, key) => {
      const resolved = await directory(service, config).resolveConfigs('default', environmentId, ['api']);
      expect(resolved.get('api')?.data).toEqual({ TOKEN: 'rotate-me' });
      const rewrap = await call(service, key, 'POST', '/v1/configs/rewrap');
      expect(rewrap.json()).toEqual({ configs: 1, versions: 1, failed: [] });
      expect((await call(service, key, 'POST', '/v1/configs/rewrap')).json()).toEqual({ configs: 0, versions: 0, failed: [] });
      return (await service.eventStore.readStream(`config-${configId}`)).map((e) => e.data.sealed);
    });
    await withService({ SECRETS_KEY: keyB }, async (service, config) => {
      const events = await service.eventStore.readStream(`config-${configId}`);
      expect(events.map((e) => e.type)).toEqual(['ConfigCreated', 'ConfigKeyRewrapped']);
      expect((events[0]!.data.sealed as { ciphertext: string }).ciphertext).toBe((sealedBefore as { ciphertext: string }).ciphertext);
      expect((await directory(service, config).resolveConfigs('default', environmentId, ['api'])).get('api')?.data).toEqual({
        TOKEN: 'rotate-me',
      });
      // Key A alone no longer opens it. The keyring comes from the configuration only, so a directory built from
      // {SECRETS_KEY: A} over this store is what a restart with A would serve, without a fourth start (each one
      // opens PGlite again, and four of them overran the test timeout under load).
      const configA = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', SECRETS_KEY: keyA });
      await expect(directory(service, configA).resolveConfigs('default', environmentId, ['api'])).rejects.toBeInstanceOf(UnknownKeyError);
    });
  });

  it('generates the embedded default key into DATA_DIR with mode 0600 and keeps it across restarts', async () => {
    const ids = await withService({}, async (service, _config, key) => {
      const env = (
        await call(service, key, 'POST', '/v1/environments', { name: 'Dev', type: 'development', orchestrator: 'docker' })
      ).json();
      const made = (
        await call(service, key, 'POST', '/v1/configs', {
          name: 'pw',
          type: 'secret',
          data: { P: 'kept' },
          environmentId: env.environmentId,
        })
      ).json();
      return { environmentId: env.environmentId as string, configId: made.configId as string };
    });
    expect(statSync(join(dataDir, 'secrets-key')).mode & 0o777).toBe(0o600);
    await withService({}, async (service, config) => {
      expect((await directory(service, config).resolveConfigs('default', ids.environmentId, ['pw'])).get('pw')?.data).toEqual({
        P: 'kept',
      });
    });
  });
});
