// Deployments with the real environments feature (no fakes but the orchestrator): an environment and a
// secret made over HTTP, a deployment mounting the secret (decrypted only in the orchestrator's hands), a
// PATCH of the secret with rollServices restarting the service that mounts it, and the environment's
// deletion refused while the deployment runs.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { memoryOrchestrator, memoryRegistry } from '../support/memory-orchestrator.js';

describe('deployments on the environments feature', () => {
  let service: Service;
  let dataDir: string;
  let key: string;
  const docker = memoryOrchestrator({ healthyAfterMs: 20 });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-deploy-env-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', DEPLOYMENT_POLL_MS: '20' });
    service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false, orchestrators: memoryRegistry(docker) });
    key = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['admin'] })).apiKey;
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    service.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });

  it('mounts a secret, rolls the service on a secret change, and keeps the environment from deletion', async () => {
    const env = await call('POST', '/v1/environments', {
      name: `prod-${randomUUID().slice(0, 6)}`,
      type: 'production',
      orchestrator: 'docker',
    });
    expect(env.statusCode, env.body).toBeLessThan(300);
    const { environmentId } = env.json();
    const secret = await call('POST', '/v1/configs', {
      name: 'db-password',
      type: 'secret',
      data: { PASSWORD: 's3cr3t-value' },
      environmentId,
    });
    expect(secret.statusCode, secret.body).toBe(201);
    const missing = await call('POST', '/v1/deployments', {
      name: 'shop',
      applicationId: 'shop',
      environmentId,
      version: '1',
      services: [
        {
          name: 'api',
          type: 'backend',
          image: 'localhost/api:1',
          volumes: [{ name: 'creds', kind: 'secret', mountPath: '/run/s', source: 'nope' }],
        },
      ],
    });
    expect(missing.statusCode).toBe(422);
    const started = await call('POST', '/v1/deployments', {
      name: 'shop',
      applicationId: 'shop',
      environmentId,
      version: '1',
      services: [
        {
          name: 'api',
          type: 'backend',
          image: 'localhost/api:1',
          replicas: 2,
          volumes: [{ name: 'creds', kind: 'secret', mountPath: '/run/s', source: 'db-password' }],
        },
        { name: 'web', type: 'frontend', image: 'localhost/web:1' },
      ],
    });
    expect(started.statusCode, started.body).toBe(202);
    const { deploymentId } = started.json();
    const until = async (check: () => Promise<boolean>) => {
      const deadline = Date.now() + 30_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await until(async () => (await call('GET', `/v1/deployments/${deploymentId}`)).json().status === 'running');
    expect(docker.appliedSpec(deploymentId, 'api')!.volumes[0]!.files).toEqual({ PASSWORD: 's3cr3t-value' });
    const events = (await service.eventStore.readAll({ maxCount: 100_000 })).events;
    expect(JSON.stringify(events.map((e) => e.data))).not.toContain('s3cr3t-value');

    const deleting = await call('DELETE', `/v1/environments/${environmentId}`);
    expect(deleting.statusCode, deleting.body).toBe(409);

    const apiBefore = docker
      .instances()
      .filter((i) => i.deploymentId === deploymentId && i.service === 'api')
      .map((i) => i.id);
    const webBefore = docker
      .instances()
      .filter((i) => i.deploymentId === deploymentId && i.service === 'web')
      .map((i) => i.id);
    const patched = await call('PATCH', `/v1/configs/${secret.json().configId}`, {
      data: { PASSWORD: 'rotated-value' },
      rollServices: true,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await until(async () => {
      const api = docker.instances().filter((i) => i.deploymentId === deploymentId && i.service === 'api' && i.state === 'running');
      return api.length === 2 && api.every((i) => !apiBefore.includes(i.id));
    });
    expect(
      docker
        .instances()
        .filter((i) => i.deploymentId === deploymentId && i.service === 'web')
        .map((i) => i.id),
    ).toEqual(webBefore);
    // The new value reached the orchestrator (and only it).
    expect(docker.appliedSpec(deploymentId, 'api')!.volumes[0]!.files).toEqual({ PASSWORD: 'rotated-value' });
  });
});
