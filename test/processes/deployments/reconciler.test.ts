// The reconciler end to end without HTTP: commands → events → process manager → step jobs → the in-memory
// orchestrator, on PGlite. Rollouts, the health gate with automatic rollback, an unreachable orchestrator,
// a crash mid-rollout, drift with self-heal, lifecycle operations and config rolls.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deploy,
  lifecycle,
  rollbackDeployment,
  scaleService,
  updateDeployment,
} from '../../../src/commands/deployments/deployment-handlers.js';
import { statusOf, type ServiceInput } from '../../../src/domain/deployments/index.js';
import { resolveService } from '../../../src/processes/deployments/deployment-resolve.js';
import { deploymentStepWorker, loadDeployment } from '../../../src/processes/deployments/deployment-steps.js';
import { contextOf, until } from '../../support/batch-stack.js';
import { createDeploymentStack, type DeploymentStack } from '../../support/deployment-stack.js';
import { deploymentStreamId } from '../../../src/domain/deployments/index.js';

const TENANT = 'acme';
const SECRET = 'hunter2-very-secret';

const service = (name: string, image = 'localhost/web:1', replicas = 2): ServiceInput => ({
  name,
  type: 'backend',
  image,
  replicas,
  ports: [{ containerPort: 8080 }],
  healthCheck: { http: { path: '/health', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1 },
});

describe('deployment reconciler (memory orchestrator)', () => {
  let stack: DeploymentStack;
  let prodEnv: string;
  let devEnv: string;
  const ctx = () => contextOf(TENANT, 'alice', randomUUID());

  beforeEach(async () => {
    stack = await createDeploymentStack({ driftIntervalMs: 150 });
    prodEnv = stack.directory.addEnvironment({ tenantId: TENANT, environmentId: randomUUID(), type: 'production' }).environmentId;
    devEnv = stack.directory.addEnvironment({ tenantId: TENANT, environmentId: randomUUID(), type: 'development' }).environmentId;
    stack.directory.setConfig(TENANT, prodEnv, { configId: randomUUID(), name: 'db-password', type: 'secret', data: { PASSWORD: SECRET } });
    await stack.startWorkers();
  });
  afterEach(async () => {
    await stack.close();
  });

  const state = async (id: string) => (await loadDeployment(stack.commands, TENANT, id))!;
  const status = async (id: string) => statusOf(await state(id));
  const waitStatus = (id: string, wanted: string, timeoutMs = 20_000) =>
    until(async () => (await status(id)) === wanted, `status ${wanted}`, timeoutMs);
  const running = () => stack.memory!.instances().filter((i) => i.state === 'running');

  async function deployThree(environmentId = prodEnv, extra: Partial<Parameters<typeof deploy>[2]> = {}) {
    const deploymentId = randomUUID();
    await deploy(stack.commands, ctx(), {
      deploymentId,
      name: `shop-${deploymentId.slice(0, 6)}`,
      applicationId: 'shop',
      environmentId,
      version: '1.0.0',
      services: [
        service('web'),
        { ...service('api'), volumes: [{ name: 'creds', kind: 'secret' as const, mountPath: '/run/secrets', source: 'db-password' }] },
        service('worker'),
      ].map((s) => (environmentId === prodEnv ? s : { ...s, volumes: [] })),
      policy: { progressDeadlineSeconds: 2 },
      ...extra,
    });
    return deploymentId;
  }

  it('rolls a 3-service release out to running, decrypting the secret only for the orchestrator', async () => {
    const id = await deployThree();
    await waitStatus(id, 'running');
    expect(running()).toHaveLength(6);
    expect(stack.memory!.appliedSpec(id, 'api')!.volumes[0]!.files).toEqual({ PASSWORD: SECRET });
    const all = await stack.eventStore.readAll();
    expect(JSON.stringify(all.events.map((e) => [e.data, e.metadata]))).not.toContain(SECRET);
    const jobs = await stack.db.kysely
      .selectFrom('jobs' as never)
      .selectAll()
      .execute()
      .catch(() => []);
    expect(JSON.stringify(jobs)).not.toContain(SECRET);
    const steps = all.events.filter((e) => e.type === 'RolloutStepCompleted').map((e) => e.data.step);
    expect(new Set(steps).size).toBe(steps.length);
    const s = await state(id);
    expect(s.replicas).toEqual(['web', 'api', 'worker'].map((name) => ({ service: name, desired: 2, ready: 2, available: 2 })));
  });

  it('an update replaces the changed service only (rolling), a scale keeps the instances', async () => {
    const id = await deployThree();
    await waitStatus(id, 'running');
    const webBefore = running()
      .filter((i) => i.service === 'web')
      .map((i) => i.id);
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, ctx(), {
      deploymentId: id,
      version: '1.1.0',
      services: current.map((s) => (s.name === 'api' ? { ...s, image: 'localhost/web:2' } : s)),
    });
    await until(async () => (await state(id)).liveRelease === 2, 'release 2 live');
    expect(
      running()
        .filter((i) => i.service === 'web')
        .map((i) => i.id),
    ).toEqual(webBefore);
    expect(
      running()
        .filter((i) => i.service === 'api')
        .map((i) => [i.image, i.release]),
    ).toEqual([
      ['localhost/web:2', 2],
      ['localhost/web:2', 2],
    ]);
    await scaleService(stack.commands, ctx(), { deploymentId: id, service: 'web', replicas: 3 });
    await until(async () => (await state(id)).liveRelease === 3, 'release 3 live');
    const web = running().filter((i) => i.service === 'web');
    expect(web).toHaveLength(3);
    expect(web.map((i) => i.id)).toEqual(expect.arrayContaining(webBefore));
  });

  it('a release that never gets healthy fails its gate and production rolls back to the last good release', async () => {
    const id = await deployThree();
    await waitStatus(id, 'running');
    stack.memory!.neverHealthy('localhost/web:broken');
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, ctx(), {
      deploymentId: id,
      version: '2.0.0',
      services: current.map((s) => (s.name === 'web' ? { ...s, image: 'localhost/web:broken' } : s)),
    });
    await waitStatus(id, 'rolled_back', 30_000);
    const s = await state(id);
    expect(s.releases.map((r) => [r.release, r.kind, r.outcome, r.automatic])).toEqual([
      [1, 'deploy', 'succeeded', false],
      [2, 'update', 'failed', false],
      [3, 'rollback', 'succeeded', true],
    ]);
    const events = await stack.eventStore.readStream(deploymentStreamId(TENANT, id));
    const rolledBack = events.find((e) => e.type === 'DeploymentRolledBack')!;
    expect(rolledBack.data).toMatchObject({ fromRelease: 2, toRelease: 1, automatic: true });
    expect(String(rolledBack.data.reason)).toContain('web 0/2 ready');
    // The broken instances are gone; the good ones never stopped.
    expect(running().map((i) => i.image)).not.toContain('localhost/web:broken');
    expect(running()).toHaveLength(6);
  });

  it('outside production a failed gate stays failed (no automatic rollback); a manual rollback restores', async () => {
    const id = await deployThree(devEnv);
    await waitStatus(id, 'running');
    stack.memory!.neverHealthy('localhost/web:broken');
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, ctx(), {
      deploymentId: id,
      version: '2.0.0',
      services: current.map((s) => ({ ...s, image: 'localhost/web:broken' })),
    });
    await waitStatus(id, 'failed', 30_000);
    expect((await state(id)).releases).toHaveLength(2);
    await rollbackDeployment(stack.commands, ctx(), { deploymentId: id });
    await waitStatus(id, 'rolled_back');
    expect((await state(id)).releases[2]).toMatchObject({ kind: 'rollback', rollbackTo: 1, automatic: false });
  });

  it('an orchestrator unreachable mid-rollout: the step is retried and the plan resumes once it is back', async () => {
    stack.memory!.setUnreachable(true);
    const id = await deployThree();
    await until(() => stack.memory!.calls.length > 0, 'a first call');
    expect(await status(id)).toBe('deploying');
    await new Promise((resolve) => setTimeout(resolve, 300));
    stack.memory!.setUnreachable(false);
    await waitStatus(id, 'running', 30_000);
    expect(running()).toHaveLength(6);
    expect(stack.memory!.created()).toBe(6);
  });

  it('drift: a killed instance is detected and self-healed; a stray one removed', async () => {
    const id = await deployThree();
    await waitStatus(id, 'running');
    const victim = running().find((i) => i.service === 'api')!;
    stack.memory!.kill(victim.id);
    await until(
      async () => (await stack.eventStore.readStream(deploymentStreamId(TENANT, id))).some((e) => e.type === 'DriftResolved'),
      'drift resolved',
      20_000,
    );
    const events = await stack.eventStore.readStream(deploymentStreamId(TENANT, id));
    const detected = events.find((e) => e.type === 'DriftDetected')!;
    expect(detected.data.findings).toEqual([{ service: 'api', kind: 'missing', expected: '2 running', observed: '1 running' }]);
    await until(() => running().filter((i) => i.service === 'api').length === 2, 'api back to 2');
    expect(await status(id)).toBe('running');
  });

  it('drift without self-heal is recorded and the deployment is degraded', async () => {
    const id = await deployThree(devEnv, { policy: { selfHeal: false, progressDeadlineSeconds: 2 } });
    await waitStatus(id, 'running');
    stack.memory!.kill(running().find((i) => i.service === 'web')!.id);
    await waitStatus(id, 'degraded');
    expect(running().filter((i) => i.service === 'web')).toHaveLength(1);
  });

  it('stop, start, restart and delete act on the orchestrator; a stopped deployment cannot be scaled', async () => {
    const id = await deployThree(devEnv);
    await waitStatus(id, 'running');
    await lifecycle(stack.commands, ctx(), 'Stop', { deploymentId: id });
    await until(() => running().length === 0, 'all stopped');
    await expect(scaleService(stack.commands, ctx(), { deploymentId: id, service: 'web', replicas: 3 })).rejects.toMatchObject({
      rule: 'deployment.stopped',
      kind: 'conflict',
    });
    await lifecycle(stack.commands, ctx(), 'Start', { deploymentId: id });
    await waitStatus(id, 'running');
    expect(running()).toHaveLength(6);
    const before = running()
      .filter((i) => i.service === 'web')
      .map((i) => i.id);
    await lifecycle(stack.commands, ctx(), 'Restart', { deploymentId: id, services: ['web'] });
    await until(async () => (await state(id)).lastRollout?.operation === 'restart' && !(await state(id)).rollout, 'restarted');
    const after = running()
      .filter((i) => i.service === 'web')
      .map((i) => i.id);
    expect(after).toHaveLength(2);
    expect(after.some((i) => before.includes(i))).toBe(false);
    await lifecycle(stack.commands, ctx(), 'Delete', { deploymentId: id });
    await until(() => stack.memory!.instances().length === 0, 'all removed');
  });

  it('a config change with rollServices restarts the services that reference it', async () => {
    const id = await deployThree();
    await waitStatus(id, 'running');
    const apiBefore = running()
      .filter((i) => i.service === 'api')
      .map((i) => i.id);
    const webBefore = running()
      .filter((i) => i.service === 'web')
      .map((i) => i.id);
    stack.directory.setConfig(TENANT, prodEnv, { configId: randomUUID(), name: 'db-password', type: 'secret', data: { PASSWORD: 'new' } });
    await stack.caughtUp();
    await stack.eventStore.append(
      `config-${randomUUID()}`,
      [
        {
          id: randomUUID(),
          type: 'ConfigUpdated',
          data: { configId: randomUUID(), name: 'db-password', environmentId: prodEnv, type: 'secret', version: 2, rollServices: true },
          metadata: { tenantId: TENANT, userId: 'alice' },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    await until(
      async () => (await state(id)).lastRollout?.operation === 'restart' && !(await state(id)).rollout,
      'restart after the config change',
    );
    expect(
      running()
        .filter((i) => i.service === 'api')
        .some((i) => apiBefore.includes(i.id)),
    ).toBe(false);
    expect(
      running()
        .filter((i) => i.service === 'web')
        .map((i) => i.id),
    ).toEqual(webBefore);
  });
});

describe('deployment reconciler: a crash mid-rollout', () => {
  it('a step re-delivered after its outcome was recorded does nothing; one whose call ran but whose outcome was lost converges without duplicates', async () => {
    const stack = await createDeploymentStack();
    try {
      const env = stack.directory.addEnvironment({ tenantId: TENANT, environmentId: randomUUID() }).environmentId;
      const id = randomUUID();
      await deploy(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
        deploymentId: id,
        name: 'crashy',
        applicationId: 'shop',
        environmentId: env,
        version: '1',
        services: [service('web'), service('api')],
      });
      const worker = deploymentStepWorker(stack.reconciler);
      const rolloutId = (await loadDeployment(stack.commands, TENANT, id))!.rollout!.rolloutId;
      const job = (step: number, attempt = 1) => ({
        id: `j${step}.${attempt}`,
        queue: 'deployment-steps',
        attempt,
        payload: { deploymentId: id, tenantId: TENANT, rolloutId, step },
      });
      await worker(job(0));
      await worker(job(0, 2)); // re-delivered: its outcome is recorded, nothing runs
      expect(stack.memory!.calls.filter((c) => c === 'ensureEnvironment')).toHaveLength(1);
      // The service process dies after applyService returned and before the outcome was appended.
      const state = (await loadDeployment(stack.commands, TENANT, id))!;
      const target = { tenantId: TENANT, environmentId: env, target: state.target, deploymentId: id, deploymentName: 'crashy' };
      await stack.memory!.applyService(target, await resolveService(stack.directory, TENANT, env, state.releases[0]!.services[0]!, 1, 2));
      await worker(job(1, 2));
      expect(stack.memory!.instances().filter((i) => i.service === 'web')).toHaveLength(2);
      // The restarted service's reconciler finishes the plan from the events.
      await stack.startWorkers();
      await until(async () => statusOf((await loadDeployment(stack.commands, TENANT, id))!) === 'running', 'running');
      const steps = (await stack.eventStore.readStream(deploymentStreamId(TENANT, id)))
        .filter((e) => e.type === 'RolloutStepCompleted')
        .map((e) => Number(e.data.step));
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(new Set(steps).size).toBe(steps.length);
      expect(stack.memory!.instances()).toHaveLength(4);
      expect(stack.memory!.created()).toBe(4);
    } finally {
      await stack.close();
    }
  });
});
