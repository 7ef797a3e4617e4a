// DELETE /v1/environments/{id} with a stub of the deployments census (the real one comes with the
// deployments feature): refused with 409 naming query.force while deployments run, a forced delete leaves
// the environment `deleting`, and nothing is written by a refusal.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyStore } from '../../../src/adapters/auth/api-key-store.js';
import { createMetrics } from '../../../src/adapters/observability/metrics.js';
import { envelopeKeyring } from '../../../src/adapters/secrets/envelope-keyring.js';
import { buildHttpApp } from '../../../src/http/app.js';
import { environmentFeatureRoutes } from '../../../src/http/environments/index.js';
import { openPgliteStore, type OpenStore } from '../../commands/fixtures/store.js';
import { environmentStreamId } from '../../../src/domain/environments/index.js';

describe('environment delete against the deployments census (stub)', () => {
  let opened: OpenStore;
  let app: FastifyInstance;
  let key: string;
  const running = new Map<string, number>();

  beforeAll(async () => {
    opened = await openPgliteStore();
    const apiKeys = createApiKeyStore(opened.db);
    await apiKeys.migrate();
    key = (await apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'w', permissions: ['environments:write'] })).apiKey;
    app = await buildHttpApp({
      logger: pino({ level: 'silent' }),
      apiKeys,
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 65_536,
      rateLimitPerMinute: 10_000,
      routes: async (instance) => {
        await instance.register(environmentFeatureRoutes, {
          commands: {
            eventStore: opened.store,
            clock: () => new Date(),
            keyring: envelopeKeyring([randomBytes(32)]),
            runningDeployments: async (tenantId, environmentId) => running.get(`${tenantId}/${environmentId}`) ?? 0,
          },
          db: opened.db,
          readYourWrites: { await: async () => undefined },
        });
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await opened?.close();
  });

  const call = (method: 'POST' | 'DELETE', url: string, body?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });

  it('refuses while deployments run, then deletes when forced (deleting until they are gone)', async () => {
    const { environmentId } = (
      await call('POST', '/v1/environments', { name: 'Busy', type: 'production', orchestrator: 'kubernetes' })
    ).json();
    running.set(`acme/${environmentId}`, 3);
    const head = await opened.store.headPosition();
    const refused = await call('DELETE', `/v1/environments/${environmentId}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ rule: 'environment.has_deployments', errors: [{ field: 'query.force' }] });
    expect(refused.json().detail ?? refused.json().title).toContain('3 deployment');
    expect(await opened.store.headPosition()).toEqual(head);
    const forced = await call('DELETE', `/v1/environments/${environmentId}?force=true`);
    expect(forced.statusCode).toBe(200);
    const events = await opened.store.readStream(environmentStreamId('acme', environmentId));
    expect(events.at(-1)).toMatchObject({ type: 'EnvironmentDeletionStarted', data: { force: true, runningDeployments: 3 } });
    running.set(`acme/${environmentId}`, 0);
    const other = (await call('POST', '/v1/environments', { name: 'Idle', type: 'testing', orchestrator: 'docker' })).json();
    expect((await call('DELETE', `/v1/environments/${other.environmentId}`)).statusCode).toBe(200);
    expect((await opened.store.readStream(environmentStreamId('acme', other.environmentId))).at(-1)?.type).toBe('EnvironmentDeleted');
  });
});
