// The environment, config and template rules: given events, when a command, then events; properties of
// the pure parts (targets, merges, rendering, risk scan) with fast-check; the envelope keyring round trip.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeKeyring } from '../../../src/adapters/secrets/envelope-keyring.js';
import { mergeSettings } from '../../../src/commands/environments/environment-handlers.js';
import {
  DEFAULT_FLAGS,
  DNS_LABEL,
  configDecider,
  configTemplateDecider,
  defaultTarget,
  environmentDecider,
  floatingImageTag,
  placeholdersIn,
  renderData,
  resolveVariables,
  riskyValues,
  type EnvironmentEvent,
  type EnvironmentSettings,
} from '../../../src/domain/environments/index.js';
import { UnknownKeyError } from '../../../src/ports/secret-keyring.js';
import { deciderSpec } from '../../support/decider-spec.js';

const environmentId = '11111111-1111-4111-8111-111111111111';
const settings: EnvironmentSettings = {
  name: 'Staging',
  type: 'staging',
  orchestrator: 'kubernetes',
  target: 'staging',
  flags: DEFAULT_FLAGS,
  quotas: {},
  networking: {},
  security: {},
};
const created: EnvironmentEvent = { type: 'EnvironmentCreated', data: { environmentId, settings } };

describe('environment decider', () => {
  const { given, stateAfter } = deciderSpec(environmentDecider);

  it('creates an active environment, refuses a second create and a bad target', () => {
    given().when({ type: 'CreateEnvironment', data: { environmentId, settings } }).then([created]);
    expect(stateAfter([created])).toMatchObject({ status: 'active' });
    given(created).when({ type: 'CreateEnvironment', data: { environmentId, settings } }).thenRefuses('environment.exists', 'conflict');
    given()
      .when({ type: 'CreateEnvironment', data: { environmentId, settings: { ...settings, target: 'UPPER' } } })
      .thenRefuses('environment.target.dns_label', 'invalid', 'target');
  });

  it('updates only what changed, and refuses to move orchestrator or target', () => {
    given(created).when({ type: 'UpdateEnvironment', data: { settings } }).then([]);
    given(created)
      .when({ type: 'UpdateEnvironment', data: { settings: { ...settings, type: 'production' } } })
      .then([{ type: 'EnvironmentUpdated', data: { environmentId, settings: { ...settings, type: 'production' }, changed: ['type'] } }]);
    given(created)
      .when({ type: 'UpdateEnvironment', data: { settings: { ...settings, orchestrator: 'docker' } } })
      .thenRefuses('environment.orchestrator.immutable', 'unprocessable', 'orchestrator');
  });

  it('refuses a delete while deployments run unless forced; a forced one waits in deleting', () => {
    given(created)
      .when({ type: 'DeleteEnvironment', data: { force: false, runningDeployments: 1 } })
      .thenRefuses('environment.has_deployments', 'conflict');
    const started: EnvironmentEvent = {
      type: 'EnvironmentDeletionStarted',
      data: { environmentId, name: 'Staging', force: true, runningDeployments: 1 },
    };
    given(created)
      .when({ type: 'DeleteEnvironment', data: { force: true, runningDeployments: 1 } })
      .then([started]);
    given(created, started).when({ type: 'UpdateEnvironment', data: { settings } }).thenRefuses('environment.deleting', 'conflict');
    given(created, started)
      .when({ type: 'FinishEnvironmentDeletion', data: {} })
      .then([{ type: 'EnvironmentDeleted', data: { environmentId, name: 'Staging', force: true, runningDeployments: 0 } }]);
    given(created)
      .when({ type: 'DeleteEnvironment', data: { force: false, runningDeployments: 0 } })
      .then([{ type: 'EnvironmentDeleted', data: { environmentId, name: 'Staging', force: false, runningDeployments: 0 } }]);
  });

  it('records a failure with its reason and activates again', () => {
    const failed: EnvironmentEvent = { type: 'EnvironmentFailed', data: { environmentId, reason: 'namespace refused' } };
    given(created)
      .when({ type: 'MarkEnvironmentFailed', data: { reason: ' namespace refused ' } })
      .then([failed]);
    expect(stateAfter([created, failed])).toMatchObject({ status: 'failed', reason: 'namespace refused' });
    given(created, failed)
      .when({ type: 'ActivateEnvironment', data: {} })
      .then([{ type: 'EnvironmentActivated', data: { environmentId } }]);
    expect(stateAfter([created, failed, { type: 'EnvironmentActivated', data: { environmentId } }])).not.toHaveProperty('reason');
  });

  it('always derives a DNS label target from any name (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.uuid(), (name, id) => {
        expect([name, defaultTarget(name, id), DNS_LABEL.test(defaultTarget(name, id))]).toEqual([name, defaultTarget(name, id), true]);
      }),
    );
  });

  it('merges a partial update: null removes, absent keeps, given replaces (property)', () => {
    const quota = fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined });
    fc.assert(
      fc.property(quota, quota, fc.constantFrom<number | null | undefined>(null, undefined, 7), (a, b, change) => {
        const current = { ...settings, quotas: { ...(a ? { cpuMillis: a } : {}), ...(b ? { memoryMb: b } : {}) } };
        const merged = mergeSettings(current, { quotas: { cpuMillis: change } });
        expect(merged.quotas.memoryMb).toBe(b);
        expect(merged.quotas.cpuMillis).toBe(change === null ? undefined : (change ?? a));
        expect('cpuMillis' in merged.quotas).toBe(change === null ? false : change !== undefined || a !== undefined);
      }),
    );
  });
});

describe('config decider', () => {
  const { given } = deciderSpec(configDecider);
  const configId = '22222222-2222-4222-8222-222222222222';

  it('refuses to record a secret unsealed, and versions plain data', () => {
    given()
      .when({
        type: 'CreateConfig',
        data: { configId, name: 'db', environmentId: null, type: 'secret', rollServices: false, payload: { data: { A: 'x' } } },
      })
      .thenRefuses('config.secret_unsealed', 'invalid');
    const createdConfig = {
      type: 'ConfigCreated' as const,
      data: {
        configId,
        name: 'app',
        environmentId: null,
        type: 'configmap' as const,
        version: 1,
        rollServices: false,
        keys: ['A'],
        data: { A: '1' },
      },
    };
    given()
      .when({
        type: 'CreateConfig',
        data: { configId, name: 'app', environmentId: null, type: 'configmap', rollServices: false, payload: { data: { A: '1' } } },
      })
      .then([createdConfig]);
    given(createdConfig)
      .when({ type: 'UpdateConfig', data: { rollServices: true, payload: { data: { A: '1' } } } })
      .then([]);
    given(createdConfig)
      .when({ type: 'UpdateConfig', data: { rollServices: true, payload: { data: { A: '2' } } } })
      .then([{ type: 'ConfigUpdated', data: { ...createdConfig.data, version: 2, rollServices: true, data: { A: '2' } } }]);
    given()
      .when({
        type: 'CreateConfig',
        data: { configId, name: 'Bad Name', environmentId: null, type: 'configmap', rollServices: false, payload: { data: {} } },
      })
      .thenRefuses('config.name.format', 'invalid', 'name');
  });
});

describe('config templates', () => {
  const { given } = deciderSpec(configTemplateDecider);
  const templateId = '33333333-3333-4333-8333-333333333333';
  const definition = {
    name: 't',
    description: '',
    configType: 'configmap' as const,
    variables: [{ name: 'x', type: 'string' as const, required: true }],
    data: { A: '{{ x }}' },
  };

  it('refuses placeholders that name no variable and variables that cannot work', () => {
    given()
      .when({ type: 'CreateConfigTemplate', data: { templateId, definition: { ...definition, data: { A: '{{ y }}' } } } })
      .thenRefuses('config_template.placeholder.unknown', 'invalid', 'data.A');
    given()
      .when({
        type: 'CreateConfigTemplate',
        data: { templateId, definition: { ...definition, variables: [{ name: 'x', type: 'enum', required: false }] } },
      })
      .thenRefuses('variable.enum.values', 'invalid', 'variables.0.values');
    given()
      .when({
        type: 'CreateConfigTemplate',
        data: { templateId, definition: { ...definition, variables: [{ name: 'x', type: 'number', required: false, default: 'many' }] } },
      })
      .thenRefuses('variable.default.type.number', 'invalid');
  });

  it('renders every declared placeholder away, whatever the values (property)', () => {
    const variables = [
      { name: 'a', type: 'string' as const, required: true },
      { name: 'b', type: 'number' as const, required: false, default: 1 },
    ];
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !s.includes('{{')),
        fc.integer(),
        fc.string({ maxLength: 30 }),
        (a, b, around) => {
          const { values, errors } = resolveVariables(variables, { a: a || 'x', b });
          expect(errors).toEqual([]);
          const data = renderData({ K: `${around}{{a}}-{{ b }}${around}` }, values);
          expect(placeholdersIn(data.K!).filter((p) => p === 'a' || p === 'b')).toEqual([]);
          expect(data.K).toBe(`${around}${a || 'x'}-${b}${around}`);
        },
      ),
    );
  });

  it('warns about floating tags, missing limits, privilege and plain secrets, and not about pinned, limited services', () => {
    expect(floatingImageTag('registry:5000/app')).toBe(true);
    expect(floatingImageTag('registry:5000/app:1.2')).toBe(false);
    expect(floatingImageTag('app@sha256:abc')).toBe(false);
    expect(
      riskyValues({ services: [{ image: 'app:1.0', resources: { cpuMillis: 100 }, env: { DB_PASSWORD: '${DB_PASSWORD}' } }] }),
    ).toEqual([]);
    expect(
      riskyValues({ image: 'app', privileged: true, env: [{ name: 'API_KEY', value: 'abc' }] })
        .map((f) => f.rule)
        .sort(),
    ).toEqual(['env.plain_secret', 'image.floating_tag', 'resources.missing_limits', 'security.privileged']);
  });
});

describe('envelope keyring', () => {
  it('opens what it sealed, only in the same context, and after a re-wrap by a new key (property)', () => {
    const old = randomBytes(32);
    const next = randomBytes(32);
    const before = envelopeKeyring([old]);
    const during = envelopeKeyring([next, old]);
    const after = envelopeKeyring([next]);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 40 }), (plaintext, context) => {
        const sealed = before.seal(plaintext, context);
        expect(JSON.stringify(sealed)).not.toContain(plaintext.length > 3 ? plaintext : '\u0000never');
        expect(before.open(sealed, context)).toBe(plaintext);
        expect(() => before.open(sealed, `${context}x`)).toThrow();
        const rewrapped = { ...sealed, ...during.rewrap(sealed, context) };
        expect(rewrapped.keyId).toBe(during.currentKeyId);
        expect(rewrapped.ciphertext).toBe(sealed.ciphertext);
        expect(after.open(rewrapped, context)).toBe(plaintext);
        expect(() => after.open(sealed, context)).toThrow(UnknownKeyError);
      }),
      { numRuns: 50 },
    );
  });
});

describe('SECRETS_KEY settings', () => {
  it('refuses a key that is not 32 bytes, naming the variable', async () => {
    const { loadConfig, ConfigError } = await import('../../../src/config.js');
    expect(() => loadConfig({ SECRETS_KEY: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ SECRETS_KEY_PREVIOUS: `${randomBytes(32).toString('hex')},nope` })).toThrow(/SECRETS_KEY_PREVIOUS/);
    expect(
      loadConfig({ SECRETS_KEY: randomBytes(32).toString('base64'), SECRETS_KEY_PREVIOUS: randomBytes(32).toString('hex') }).SECRETS_KEY,
    ).toBeDefined();
  });
});
