// Deployments end to end through the real service (embedded PGlite and its SQL job queue), with the
// in-memory orchestrator and an environment directory in memory: POST → reconciler → running, the read
// model, releases and diffs, asOf, SSE with Last-Event-ID, health and status, ETag/If-Match,
// Idempotency-Key, tenant isolation, every bad input of the issue (4xx naming the field, nothing written)
// and the 409 for an orchestrator that is not configured.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { formatPosition } from '../../src/ports/event-store.js';
import { deploymentsFeatureWith } from '../../src/features/deployments.js';
import { features } from '../../src/features/index.js';
import { startService, type Service } from '../../src/service.js';
import { fakeEnvironmentDirectory } from '../support/fake-environment-directory.js';
import { memoryOrchestrator, memoryRegistry } from '../support/memory-orchestrator.js';

type Method = 'GET' | 'POST' | 'DELETE';

describe('deployments over HTTP', () => {
  let service: Service;
  let dataDir: string;
  let keyA: string;
  let keyB: string;
  const directory = fakeEnvironmentDirectory();
  const docker = memoryOrchestrator({ healthyAfterMs: 20 });
  const env = randomUUID();
  const prod = randomUUID();
  const kube = randomUUID();
  const envB = randomUUID();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-deployments-'));
    directory.addEnvironment({ tenantId: 'acme', environmentId: env, quotas: { maxReplicasPerService: 5 } });
    directory.addEnvironment({ tenantId: 'acme', environmentId: prod, type: 'production' });
    directory.addEnvironment({ tenantId: 'acme', environmentId: kube, orchestrator: 'kubernetes' });
    directory.addEnvironment({ tenantId: 'globex', environmentId: envB });
    directory.setConfig('acme', env, { configId: randomUUID(), name: 'app-config', type: 'configmap', data: { MODE: 'x' } });
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      READ_YOUR_WRITES_TIMEOUT_MS: '10000',
      DEPLOYMENT_POLL_MS: '20',
      DEPLOYMENT_DRIFT_INTERVAL_MS: '60000',
    });
    service = await startService(config, pino({ level: 'silent' }), {
      defaultMetrics: false,
      orchestrators: memoryRegistry(docker),
      features: [...features.filter((f) => f.name !== 'deployments'), deploymentsFeatureWith(() => directory)],
    });
    keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['deployments:write'] })).apiKey;
    keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['deployments:write'] })).apiKey;
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: Method, url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    service.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${options.key ?? keyA}`, ...options.headers },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    });

  const web = (extra: Record<string, unknown> = {}) => ({
    name: 'web',
    type: 'frontend',
    image: 'localhost/web:1',
    replicas: 2,
    ports: [{ containerPort: 80 }],
    healthCheck: { http: { path: '/', port: 80 }, intervalSeconds: 1, timeoutSeconds: 1 },
    ...extra,
  });
  const body = (extra: Record<string, unknown> = {}) => ({
    name: `shop-${randomUUID().slice(0, 8)}`,
    applicationId: 'shop',
    environmentId: env,
    version: '1.0.0',
    services: [web(), { name: 'api', type: 'backend', image: 'localhost/api:1', replicas: 1, envFrom: ['app-config'] }],
    ...extra,
  });

  async function until(id: string, status: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const got = await call('GET', `/v1/deployments/${id}`);
      if (got.statusCode === 200 && got.json().status === status) return got;
      if (Date.now() > deadline) throw new Error(`deployment ${id} did not reach ${status}: ${got.body}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  // Read at the store's head: a deployment accepted by an earlier test may not be projected yet.
  const deploymentCount = async (key = keyA) => {
    const minPosition = formatPosition(await service.eventStore.headPosition());
    return (await call('GET', `/v1/deployments?pageSize=1&minPosition=${minPosition}`, { key })).json().total as number;
  };

  it('deploys (202 with position), runs, and shows status, health, releases, diff, asOf and the SSE progress', async () => {
    const started = await call('POST', '/v1/deployments', { body: body() });
    expect(started.statusCode, started.body).toBe(202);
    const { deploymentId, position, release } = started.json();
    expect(release).toBe(1);
    expect(started.headers.location).toBe(`/v1/deployments/${deploymentId}`);
    const first = await call('GET', `/v1/deployments/${deploymentId}?minPosition=${position}`);
    expect(first.statusCode).toBe(200);
    expect(['deploying', 'running']).toContain(first.json().status);
    const running = await until(deploymentId, 'running');
    expect(running.json().services).toEqual([
      expect.objectContaining({ name: 'web', replicas: { desired: 2, ready: 2, available: 2 } }),
      expect.objectContaining({ name: 'api', replicas: { desired: 1, ready: 1, available: 1 } }),
    ]);
    const deployedAt = new Date().toISOString();
    const status = await call('GET', `/v1/deployments/${deploymentId}/status`);
    expect(status.json()).toMatchObject({ status: 'running', drift: null });
    const health = await call('GET', `/v1/deployments/${deploymentId}/health`);
    expect(health.json()).toMatchObject({ reachable: true, healthy: true });
    expect(health.json().instances).toHaveLength(3);

    // An update with a stale If-Match is refused; with the current ETag it is release 2.
    const stale = await call('POST', `/v1/deployments/${deploymentId}/releases`, {
      body: { version: '1.1.0', services: [web({ image: 'localhost/web:2' })] },
      headers: { 'if-match': '"0"' },
    });
    expect(stale.statusCode).toBe(409);
    const updated = await call('POST', `/v1/deployments/${deploymentId}/releases`, {
      body: { version: '1.1.0', services: [web({ image: 'localhost/web:2' })], reason: 'new web' },
      headers: { 'if-match': running.headers.etag as string },
    });
    expect(updated.statusCode, updated.body).toBe(202);
    expect(updated.json().release).toBe(2);
    const two = await until(deploymentId, 'running');
    expect(two.json()).toMatchObject({
      currentRelease: { release: 2, version: '1.1.0', outcome: 'succeeded' },
      previousRelease: { release: 1 },
    });
    const releases = (await call('GET', `/v1/deployments/${deploymentId}/releases`)).json().items;
    expect(releases.map((r: { release: number; createdBy: string }) => [r.release, r.createdBy])).toEqual([
      [1, 'alice'],
      [2, 'alice'],
    ]);
    expect(releases[1].reason).toBe('new web');
    const diff = (await call('GET', `/v1/deployments/${deploymentId}/releases/diff?from=1&to=2`)).json();
    expect(diff.changes).toEqual(['version: 1.0.0 → 1.1.0', 'web.image: "localhost/web:1" → "localhost/web:2"', 'api: removed']);
    const asOf = (await call('GET', `/v1/deployments/${deploymentId}?asOf=${deployedAt}`)).json();
    expect(asOf).toMatchObject({ status: 'running', currentRelease: { release: 1 } });
    expect(
      docker
        .instances()
        .filter((i) => i.deploymentId === deploymentId)
        .map((i) => i.image),
    ).toEqual(['localhost/web:2', 'localhost/web:2']);

    // The whole history as SSE, then resumed after the fourth event.
    const sse = await call('GET', `/v1/deployments/${deploymentId}/events`);
    expect(sse.headers['content-type']).toContain('text/event-stream');
    const ids = [...sse.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(0);
    expect(sse.body).toContain('event: RolloutSucceeded');
    const resumed = await call('GET', `/v1/deployments/${deploymentId}/events`, { headers: { 'last-event-id': '3' } });
    expect([...resumed.body.matchAll(/^id: (\d+)$/gm)][0]![1]).toBe('4');

    const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^deployments\{status="running"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^deployment_rollout_duration_seconds_count\{operation="release",outcome="succeeded"\} [1-9]/m);
  });

  it('Idempotency-Key: the same request answers the first result; another body with it is 422', async () => {
    const request = body();
    const headers = { 'idempotency-key': `deploy-${randomUUID()}` };
    const a = await call('POST', '/v1/deployments', { body: request, headers });
    const b = await call('POST', '/v1/deployments', { body: request, headers });
    expect(b.statusCode).toBe(202);
    expect(b.json().deploymentId).toBe(a.json().deploymentId);
    expect(b.headers['idempotent-replay']).toBe('true');
    const c = await call('POST', '/v1/deployments', { body: { ...request, version: '9' }, headers });
    expect(c.statusCode).toBe(422);
  });

  it('bad input is a 4xx naming the field, and nothing is written', async () => {
    const before = await deploymentCount();
    const head = await service.eventStore.headPosition();
    const refuse = async (changes: Record<string, unknown>, status: number, field: string, key = keyA) => {
      const got = await call('POST', '/v1/deployments', { body: body(changes), key });
      expect(got.statusCode, got.body).toBe(status);
      expect(
        got.json().errors?.[0]?.field ??
          got
            .json()
            .errors?.map((e: { field: string }) => e.field)
            .join(','),
        got.body,
      ).toContain(field);
    };
    await refuse({ environmentId: randomUUID() }, 422, 'body.environmentId');
    await refuse({ environmentId: envB }, 422, 'body.environmentId'); // another tenant's environment
    await refuse({ services: [web({ image: 'Not A/Valid::image' })] }, 400, 'body.services.0.image');
    await refuse(
      { services: [web({ ports: [{ containerPort: 80 }, { containerPort: 80 }] })] },
      400,
      'body.services.0.ports.1.containerPort',
    );
    await refuse(
      {
        services: [
          web({ ports: [{ containerPort: 80, hostPort: 8080 }] }),
          web({ name: 'web2', ports: [{ containerPort: 81, hostPort: 8080 }], healthCheck: null }),
        ],
      },
      400,
      'body.services.1.ports.0.hostPort',
    );
    await refuse({ services: [web({ replicas: -1 })] }, 400, 'body.services.0.replicas');
    await refuse({ services: [web({ replicas: 6 })] }, 422, 'body.services.0.replicas');
    await refuse({ services: [web(), web()] }, 400, 'body.services.1.name');
    await refuse(
      { services: [web({ volumes: [{ name: 'creds', kind: 'secret', mountPath: '/s', source: 'nope' }] })] },
      422,
      'body.services.0.volumes.0.source',
    );
    await refuse(
      { services: [web({ volumes: [{ name: 'cfg', kind: 'secret', mountPath: '/s', source: 'app-config' }] })] },
      422,
      'body.services.0.volumes.0.source',
    );
    const name = `dup-${randomUUID().slice(0, 8)}`;
    expect((await call('POST', '/v1/deployments', { body: body({ name }) })).statusCode).toBe(202);
    await refuse({ name }, 409, 'body.name');
    expect(await deploymentCount()).toBe(before + 1);
    // Only the one accepted deployment wrote (its creation, release, plan, and the reconciler's steps).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const written = (await service.eventStore.readAll({ after: head, maxCount: 100_000 })).events;
    expect(written.filter((e) => e.type === 'DeploymentCreated')).toHaveLength(1);
    // No name was claimed by a refused request: the only claim is the accepted deployment's.
    expect(written.filter((e) => e.type === 'ReservationClaimed')).toHaveLength(1);
  });

  it('deploying to an orchestrator that is not configured is a 409 naming the setting', async () => {
    const got = await call('POST', '/v1/deployments', { body: body({ environmentId: kube }) });
    expect(got.statusCode).toBe(409);
    expect(got.json().detail).toContain('KUBECONFIG');
  });

  it('issue #15 item 15: a spec is checked whole before any orchestrator: every field at fault, orchestrator configured or not', async () => {
    const head = await service.eventStore.headPosition();
    for (const environmentId of [kube, env]) {
      const got = await call('POST', '/v1/deployments', {
        body: body({ environmentId, version: 'not a version', services: [web({ image: 'NOT AN IMAGE', replicas: -1 })] }),
      });
      expect(got.statusCode, got.body).toBe(400);
      expect(got.headers['content-type']).toContain('application/problem+json');
      expect(got.json().errors.map((e: { field: string; rule: string }) => [e.field, e.rule])).toEqual([
        ['body.version', 'deployment.version.format'],
        ['body.services.0.image', 'deployment.image.reference'],
        ['body.services.0.replicas', 'deployment.replicas.min'],
      ]);
    }
    expect((await service.eventStore.readAll({ after: head, maxCount: 1000 })).events).toEqual([]);
  });

  it('issue #15 item 1: scale takes the create rule: 2,147,483,648, 1e308 and 101 are 400 naming body.replicas, nothing written', async () => {
    const { deploymentId } = (await call('POST', '/v1/deployments', { body: body({ environmentId: prod, services: [web()] }) })).json();
    await until(deploymentId, 'running');
    const head = await service.eventStore.headPosition();
    for (const replicas of [2_147_483_648, 1e308, 101, -1, 1.5]) {
      const got = await call('POST', `/v1/deployments/${deploymentId}/scale`, { body: { service: 'web', replicas } });
      expect(got.statusCode, `${replicas}: ${got.body}`).toBe(400);
      expect(got.json().errors[0]).toMatchObject({ field: 'body.replicas' });
      expect(got.json().rule).toMatch(/^deployment\.replicas\.(min|max)$/);
    }
    expect((await service.eventStore.readAll({ after: head, maxCount: 1000 })).events).toEqual([]);
    expect((await call('POST', `/v1/deployments/${deploymentId}/scale`, { body: { service: 'web', replicas: 100 } })).statusCode).toBe(202);
  });

  it('rollback to a missing release is 404 naming toRelease; scale of a stopped deployment is 409; tenants see nothing of each other', async () => {
    const { deploymentId } = (await call('POST', '/v1/deployments', { body: body() })).json();
    await until(deploymentId, 'running');
    const missing = await call('POST', `/v1/deployments/${deploymentId}/rollback`, { body: { toRelease: 7 } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().errors[0].field).toBe('body.toRelease');
    for (const [method, url, payload] of [
      ['GET', `/v1/deployments/${deploymentId}`],
      ['GET', `/v1/deployments/${deploymentId}/releases`],
      ['GET', `/v1/deployments/${deploymentId}/health`],
      ['GET', `/v1/deployments/${deploymentId}/events`],
      ['POST', `/v1/deployments/${deploymentId}/scale`, { service: 'web', replicas: 1 }],
      ['POST', `/v1/deployments/${deploymentId}/stop`, {}],
      ['DELETE', `/v1/deployments/${deploymentId}`],
    ] as const) {
      const got = await call(method, url, { key: keyB, ...(payload ? { body: payload } : {}) });
      expect(got.statusCode, `${method} ${url}`).toBe(404);
    }
    expect(await deploymentCount(keyB)).toBe(0);
    expect((await call('POST', `/v1/deployments/${deploymentId}/stop`, { body: {} })).statusCode).toBe(202);
    await until(deploymentId, 'stopped');
    const scale = await call('POST', `/v1/deployments/${deploymentId}/scale`, { body: { service: 'web', replicas: 3 } });
    expect(scale.statusCode).toBe(409);
    expect(scale.json().rule).toBe('deployment.stopped');
    expect((await call('POST', `/v1/deployments/${deploymentId}/start`, { body: {} })).statusCode).toBe(202);
    await until(deploymentId, 'running');
    const scaled = await call('POST', `/v1/deployments/${deploymentId}/scale`, { body: { service: 'web', replicas: 3 } });
    expect(scaled.statusCode).toBe(202);
    await until(deploymentId, 'running');
    expect(docker.instances().filter((i) => i.deploymentId === deploymentId && i.service === 'web')).toHaveLength(3);
    expect((await call('DELETE', `/v1/deployments/${deploymentId}`)).statusCode).toBe(202);
    expect((await call('GET', `/v1/deployments/${deploymentId}`)).statusCode).toBe(404);
  });

  it('a production release that fails its health gate is rolled back automatically (status rolled_back)', async () => {
    const { deploymentId } = (
      await call('POST', '/v1/deployments', {
        body: body({ environmentId: prod, services: [web()], policy: { progressDeadlineSeconds: 1 } }),
      })
    ).json();
    await until(deploymentId, 'running');
    docker.neverHealthy('localhost/web:bad');
    const bad = await call('POST', `/v1/deployments/${deploymentId}/releases`, {
      body: { version: '2', services: [web({ image: 'localhost/web:bad' })] },
    });
    expect(bad.statusCode).toBe(202);
    const back = await until(deploymentId, 'rolled_back');
    expect(back.json().currentRelease).toMatchObject({ release: 3, kind: 'rollback', automatic: true, rollbackTo: 1 });
    const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^deployment_rollbacks_total\{kind="automatic"\} 1$/m);
  });
});
