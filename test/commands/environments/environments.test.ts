// Environment and config commands on PGlite: unique names and targets per tenant through reservation
// streams, deletion refused while deployments run (a stub census), secrets sealed in events, key rotation,
// and the environment directory deployments read, straight from the streams.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeKeyring } from '../../../src/adapters/secrets/envelope-keyring.js';
import {
  createConfig,
  createEnvironment,
  deleteConfig,
  deleteEnvironment,
  rewrapConfig,
  updateConfig,
  updateEnvironment,
  type ConfigCommandDeps,
  type EnvironmentCommandDeps,
} from '../../../src/commands/environments/index.js';
import { DEFAULT_FLAGS, type EnvironmentSettings } from '../../../src/domain/environments/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import { loadConfig } from '../../../src/config.js';
import { environmentDirectoryFor } from '../../../src/features/environment-directory.js';
import type { FeatureDeps } from '../../../src/features/feature-module.js';
import type { EventStore } from '../../../src/ports/event-store.js';
import { UnknownKeyError } from '../../../src/ports/secret-keyring.js';
import { contextFor, manualClock, openPgliteStore, type OpenStore } from '../fixtures/store.js';
import { temporaryDirectory } from '../../support/temporary-directory.js';
import { randomBytes } from 'node:crypto';
import { configStreamId, environmentStreamId } from '../../../src/domain/environments/index.js';

const settings = (overrides: Partial<EnvironmentSettings> = {}): EnvironmentSettings => ({
  name: 'Staging',
  type: 'staging',
  orchestrator: 'docker',
  target: 'staging',
  flags: DEFAULT_FLAGS,
  quotas: { maxReplicasPerService: 5 },
  networking: {},
  security: {},
  ...overrides,
});

async function refused(run: Promise<unknown>): Promise<RuleViolation> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RuleViolation);
  return error as RuleViolation;
}

describe('environment and config commands on PGlite', () => {
  let opened: OpenStore;
  let store: EventStore;
  const clock = manualClock();
  let running = 0;
  const key = randomBytes(32);
  let keyring = envelopeKeyring([key]);
  const deps = (): EnvironmentCommandDeps & ConfigCommandDeps => ({
    eventStore: store,
    clock: clock.now,
    runningDeployments: async () => running,
    keyring,
  });
  let tenantId: string;
  const ctx = () => contextFor({ tenantId });

  beforeAll(async () => {
    opened = await openPgliteStore();
    store = opened.store;
  });
  afterAll(() => opened.close());

  it('keeps names and targets unique per tenant, and frees both on delete', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const first = randomUUID();
    await createEnvironment(deps(), ctx(), { environmentId: first, settings: settings() });
    const sameName = await refused(
      createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings({ name: ' staging ', target: 'other' }) }),
    );
    expect(sameName).toMatchObject({ rule: 'environment.name.unique', field: 'name' });
    const sameTarget = await refused(
      createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings({ name: 'Other' }) }),
    );
    expect(sameTarget).toMatchObject({ rule: 'environment.target.unique', field: 'target' });
    // The same target on the other orchestrator kind is another namespace.
    await createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings({ name: 'K', orchestrator: 'kubernetes' }) });
    // Another tenant has its own names.
    await createEnvironment(deps(), contextFor({ tenantId: `${tenantId}-b` }), { environmentId: randomUUID(), settings: settings() });
    await deleteEnvironment(deps(), ctx(), { environmentId: first, force: false });
    await createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings() });
  });

  it('refuses to delete an environment with running deployments unless forced', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const environmentId = randomUUID();
    await createEnvironment(deps(), ctx(), { environmentId, settings: settings() });
    running = 2;
    try {
      const error = await refused(deleteEnvironment(deps(), ctx(), { environmentId, force: false }));
      expect(error).toMatchObject({ rule: 'environment.has_deployments', kind: 'conflict' });
      const forced = await deleteEnvironment(deps(), ctx(), { environmentId, force: true });
      expect(forced.events.map((e) => e.type)).toEqual(['EnvironmentDeletionStarted']);
      expect(forced.state.status).toBe('deleting');
      // The name stays taken while its deployments are torn down.
      expect(
        await refused(createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings({ target: 'x' }) })),
      ).toMatchObject({
        rule: 'environment.name.unique',
      });
    } finally {
      running = 0;
    }
  });

  it('merges a partial update, renames with a claim, and refuses to move the target', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const environmentId = randomUUID();
    await createEnvironment(deps(), ctx(), {
      environmentId,
      settings: settings({ networking: { ingressHost: 'a.example.com', tls: true } }),
    });
    const updated = await updateEnvironment(deps(), ctx(), {
      environmentId,
      changes: { name: 'Stage 2', quotas: { maxReplicasPerService: null, cpuMillis: 4000 }, networking: { tls: false } },
    });
    expect(updated.state).toMatchObject({
      settings: { name: 'Stage 2', quotas: { cpuMillis: 4000 }, networking: { ingressHost: 'a.example.com', tls: false } },
    });
    expect(updated.events[0]).toMatchObject({ data: { changed: ['name', 'quotas', 'networking'] } });
    await createEnvironment(deps(), ctx(), { environmentId: randomUUID(), settings: settings({ target: 'again' }) }); // old name free
    const moved = await refused(updateEnvironment(deps(), ctx(), { environmentId, changes: { target: 'elsewhere' } }));
    expect(moved).toMatchObject({ rule: 'environment.target.immutable', kind: 'unprocessable' });
  });

  it('seals secrets: no plaintext in any event; versions open, rotation re-wraps without changing the ciphertext', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const environmentId = randomUUID();
    await createEnvironment(deps(), ctx(), { environmentId, settings: settings() });
    const configId = randomUUID();
    const plaintext = `hunter2-${randomUUID()}`;
    await createConfig(deps(), ctx(), {
      configId,
      name: 'db-credentials',
      type: 'secret',
      data: { PASSWORD: plaintext },
      environmentId,
      rollServices: true,
    });
    await updateConfig(deps(), ctx(), { configId, data: { PASSWORD: `${plaintext}-v2` }, rollServices: false });
    const events = await store.readStream(configStreamId(tenantId, configId));
    expect(events.map((e) => e.type)).toEqual(['ConfigCreated', 'ConfigUpdated']);
    expect(JSON.stringify(events.map((e) => [e.data, e.metadata]))).not.toContain('hunter2');
    expect(events[0]!.data).toMatchObject({
      configId,
      name: 'db-credentials',
      environmentId,
      type: 'secret',
      version: 1,
      rollServices: true,
      keys: ['PASSWORD'],
    });

    const featureDeps = {
      commands: { eventStore: store, clock: clock.now },
      config: { ...loadConfig({ DATA_DIR: temporaryDirectory('kyo-env-') }), SECRETS_KEY: key.toString('base64') },
      logger: pino({ level: 'silent' }),
    } as unknown as FeatureDeps;
    const directory = environmentDirectoryFor(featureDeps);
    expect((await directory.resolveConfigs(tenantId, environmentId, ['db-credentials', 'missing'])).get('db-credentials')).toMatchObject({
      version: 2,
      data: { PASSWORD: `${plaintext}-v2` },
    });
    expect([...(await directory.resolveConfigs(tenantId, environmentId, ['missing'])).keys()]).toEqual([]);

    // Rotation: the new key first, the old one still accepted; re-wrap; then the old one can go.
    const next = randomBytes(32);
    keyring = envelopeKeyring([next, key]);
    expect(await rewrapConfig(deps(), ctx(), configId)).toBe(2);
    expect(await rewrapConfig(deps(), ctx(), configId)).toBe(0);
    const after = await store.readStream(configStreamId(tenantId, configId));
    expect(after.slice(2).map((e) => e.type)).toEqual(['ConfigKeyRewrapped', 'ConfigKeyRewrapped']);
    expect(after[0]!.data.sealed).toMatchObject({ ciphertext: (events[0]!.data.sealed as { ciphertext: string }).ciphertext });
    const rotatedDeps = {
      ...featureDeps,
      config: { ...featureDeps.config, SECRETS_KEY: next.toString('base64'), SECRETS_KEY_PREVIOUS: undefined },
    } as FeatureDeps;
    expect(
      (await environmentDirectoryFor(rotatedDeps).resolveConfigs(tenantId, environmentId, ['db-credentials'])).get('db-credentials')?.data,
    ).toEqual({
      PASSWORD: `${plaintext}-v2`,
    });
    // Only the old key: what was re-wrapped away no longer opens with it.
    const oldOnly = { ...featureDeps, config: { ...featureDeps.config, SECRETS_KEY: key.toString('base64') } } as FeatureDeps;
    await expect(environmentDirectoryFor(oldOnly).resolveConfigs(tenantId, environmentId, ['db-credentials'])).rejects.toBeInstanceOf(
      UnknownKeyError,
    );
    keyring = envelopeKeyring([key]);
  });

  it('resolves environment-scoped configs before tenant-wide ones, and forgets deleted ones', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const environmentId = randomUUID();
    await createEnvironment(deps(), ctx(), { environmentId, settings: settings() });
    const wide = randomUUID();
    await createConfig(deps(), ctx(), {
      configId: wide,
      name: 'app',
      type: 'configmap',
      data: { MODE: 'wide' },
      environmentId: null,
      rollServices: false,
    });
    const featureDeps = {
      commands: { eventStore: store, clock: clock.now },
      config: { ...loadConfig({ DATA_DIR: temporaryDirectory('kyo-env-') }) },
      logger: pino({ level: 'silent' }),
    } as unknown as FeatureDeps;
    const directory = environmentDirectoryFor(featureDeps);
    expect((await directory.configRefs(tenantId, environmentId, ['app'])).get('app')).toMatchObject({
      configId: wide,
      type: 'configmap',
      version: 1,
    });
    const own = randomUUID();
    await createConfig(deps(), ctx(), {
      configId: own,
      name: 'app',
      type: 'configmap',
      data: { MODE: 'own' },
      environmentId,
      rollServices: false,
    });
    expect((await directory.resolveConfigs(tenantId, environmentId, ['app'])).get('app')?.data).toEqual({ MODE: 'own' });
    await deleteConfig(deps(), ctx(), { configId: own });
    expect((await directory.resolveConfigs(tenantId, environmentId, ['app'])).get('app')?.data).toEqual({ MODE: 'wide' });
    // Another tenant sees neither the environment nor its configs.
    expect(await directory.environment('someone-else', environmentId)).toBeUndefined();
    expect((await directory.configRefs('someone-else', environmentId, ['app'])).size).toBe(0);
    expect(await directory.environment(tenantId, environmentId)).toMatchObject({
      name: 'Staging',
      orchestrator: 'docker',
      target: 'staging',
      status: 'active',
    });
    // A config for an unknown environment is refused, naming the field; duplicate names too.
    expect(
      await refused(
        createConfig(deps(), ctx(), {
          configId: randomUUID(),
          name: 'x',
          type: 'configmap',
          data: {},
          environmentId: randomUUID(),
          rollServices: false,
        }),
      ),
    ).toMatchObject({ rule: 'config.environment.unknown', field: 'environmentId' });
    expect(
      await refused(
        createConfig(deps(), ctx(), {
          configId: randomUUID(),
          name: 'app',
          type: 'environment',
          data: {},
          environmentId: null,
          rollServices: false,
        }),
      ),
    ).toMatchObject({ rule: 'config.name.unique', field: 'name' });
  });
});

describe('concurrent environment changes without If-Match', () => {
  it('merges each change on the other instead of losing one', async () => {
    const opened = await openPgliteStore();
    try {
      const deps = { eventStore: opened.store, clock: () => new Date(), runningDeployments: async () => 0 };
      const ctx = () => contextFor({ tenantId: 'race' });
      const environmentId = randomUUID();
      await createEnvironment(deps, ctx(), { environmentId, settings: settings() });
      await Promise.all([
        updateEnvironment(deps, ctx(), { environmentId, changes: { quotas: { cpuMillis: 1000 } } }),
        updateEnvironment(deps, ctx(), { environmentId, changes: { flags: { backup: true } } }),
        updateEnvironment(deps, ctx(), { environmentId, changes: { networking: { dns: 'internal.example' } } }),
      ]);
      const events = await opened.store.readStream(environmentStreamId('race', environmentId));
      expect(events.at(-1)!.data.settings).toMatchObject({
        quotas: { cpuMillis: 1000, maxReplicasPerService: 5 },
        flags: { backup: true },
        networking: { dns: 'internal.example' },
      });
    } finally {
      await opened.close();
    }
  });
});
