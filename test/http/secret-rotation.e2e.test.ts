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
import { configStreamId, configTemplateStreamId } from '../../src/domain/environments/index.js';
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
  const call = (service: Service, key: string, method: 'GET' | 'POST' | 'PATCH', url: string, body?: object) =>
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
      expect(rewrap.json()).toEqual({ configs: 1, versions: 1, templates: 0, failed: [] });
      expect((await call(service, key, 'POST', '/v1/configs/rewrap')).json()).toEqual({
        configs: 0,
        versions: 0,
        templates: 0,
        failed: [],
      });
      return (await service.eventStore.readStream(configStreamId('default', configId))).map((e) => e.data.sealed);
    });
    await withService({ SECRETS_KEY: keyB }, async (service, config) => {
      const events = await service.eventStore.readStream(configStreamId('default', configId));
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

  it('keeps a secret config template’s own values and defaults sealed: never in an event, the read model or an answer; rendered and re-wrapped', async () => {
    const literal = `literal-${randomBytes(6).toString('hex')}`;
    const fallback = `default-${randomBytes(6).toString('hex')}`;
    const changed = `changed-${randomBytes(6).toString('hex')}`;
    const secrets = [literal, fallback, changed];
    const leaks = (text: string) => secrets.filter((secret) => text.includes(secret));
    const { templateId, environmentId } = await withService({ SECRETS_KEY: keyA }, async (service, _config, key) => {
      const env = (await call(service, key, 'POST', '/v1/environments', { name: 'Tpl', type: 'staging', orchestrator: 'docker' })).json();
      const created = await call(service, key, 'POST', '/v1/config-templates', {
        name: 'db-credentials',
        configType: 'secret',
        variables: [{ name: 'user', type: 'string', required: false, default: fallback }],
        data: { PASSWORD: literal, USER: '{{ user }}' },
      });
      expect(created.statusCode).toBe(201);
      expect(leaks(created.body)).toEqual([]);
      const id = created.json().templateId as string;
      const shown = await call(service, key, 'GET', `/v1/config-templates/${id}?minPosition=${created.json().position}`);
      expect(shown.json()).toMatchObject({
        data: { PASSWORD: '********', USER: '********' },
        variables: [{ name: 'user', defaultSealed: true }],
      });
      expect(shown.json().variables[0]).not.toHaveProperty('default');
      // A partial change (the name) keeps the sealed values; a change of data seals the new value.
      expect((await call(service, key, 'PATCH', `/v1/config-templates/${id}`, { name: 'db-creds' })).statusCode).toBe(200);
      const rendered = await call(service, key, 'POST', `/v1/config-templates/${id}/render`, {
        name: 'db',
        environmentId: env.environmentId,
        variables: {},
      });
      expect(rendered.statusCode).toBe(201);
      expect(rendered.json().data).toEqual({ PASSWORD: '********', USER: '********' });
      const patched = await call(service, key, 'PATCH', `/v1/config-templates/${id}`, { data: { PASSWORD: changed, USER: '{{ user }}' } });
      expect(patched.statusCode).toBe(200);
      const list = await call(service, key, 'GET', `/v1/config-templates?minPosition=${patched.json().position}`);
      for (const answer of [shown, rendered, patched, list]) expect(leaks(answer.body)).toEqual([]);
      const events = await service.eventStore.readStream(configTemplateStreamId('default', id));
      expect(events.map((e) => e.type)).toEqual(['ConfigTemplateCreated', 'ConfigTemplateUpdated', 'ConfigTemplateUpdated']);
      expect(leaks(JSON.stringify(events.map((e) => [e.data, e.metadata])))).toEqual([]);
      return { templateId: id, environmentId: env.environmentId as string };
    });
    await withService({ SECRETS_KEY: keyB, SECRETS_KEY_PREVIOUS: keyA }, async (service, config, key) => {
      // The config rendered under key A opens with the template's literal and sealed default.
      expect((await directory(service, config).resolveConfigs('default', environmentId, ['db'])).get('db')?.data).toEqual({
        PASSWORD: literal,
        USER: fallback,
      });
      const rewrap = await call(service, key, 'POST', '/v1/configs/rewrap');
      // (The data directory is the other tests' too: a config sealed by the generated key may fail here.)
      expect(rewrap.json()).toMatchObject({ templates: 1 });
      expect(rewrap.json().failed.filter((f: { templateId?: string }) => f.templateId)).toEqual([]);
    });
    await withService({ SECRETS_KEY: keyB }, async (service, config, key) => {
      const rendered = await call(service, key, 'POST', `/v1/config-templates/${templateId}/render`, {
        name: 'db2',
        environmentId,
        variables: {},
      });
      expect(rendered.statusCode).toBe(201);
      const position = rendered.json().position as string;
      await call(service, key, 'GET', `/v1/configs/${rendered.json().configId}?minPosition=${position}`);
      expect((await directory(service, config).resolveConfigs('default', environmentId, ['db2'])).get('db2')?.data).toEqual({
        PASSWORD: changed,
        USER: fallback,
      });
    });
    // Without the key that sealed it, a render is refused with a clear problem, never a 500.
    await withService({ SECRETS_KEY: randomBytes(32).toString('base64') }, async (service, _config, key) => {
      const refused = await call(service, key, 'POST', `/v1/config-templates/${templateId}/render`, { dryRun: true, variables: {} });
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ rule: 'secrets.key_unavailable' });
    });
  });
});
