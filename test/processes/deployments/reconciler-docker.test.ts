// The reconciler against a real Docker Engine API (podman's, started for the run) with real containers of
// busybox httpd: a rollout to running; the engine unreachable mid-rollout (the plan resumes when it is
// back); a container that never becomes healthy (automatic rollback in production); a container killed
// behind our back (drift detected and self-healed).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerOrchestrator } from '../../../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { deploy, updateDeployment } from '../../../src/commands/deployments/deployment-handlers.js';
import { statusOf, type ServiceInput } from '../../../src/domain/deployments/index.js';
import { httpService } from '../../support/http-service.js';
import { loadDeployment } from '../../../src/processes/deployments/deployment-steps.js';
import { contextOf, until } from '../../support/batch-stack.js';
import { createDeploymentStack, type DeploymentStack } from '../../support/deployment-stack.js';
import { dockerService } from '../../support/services.js';
import { socketProxy, type SocketProxy } from '../../support/socket-proxy.js';
import { deploymentStreamId } from '../../../src/domain/deployments/index.js';

const docker = dockerService();
const TENANT = 'acme';

describe.skipIf(!docker.url)(`reconciler on Docker ${docker.skipReason ?? ''}`, () => {
  let stack: DeploymentStack;
  let proxy: SocketProxy;
  let dir: string;
  const engine = new Docker({ socketPath: docker.url!.replace('unix://', '') });
  const environments: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kyo-proxy-'));
    proxy = await socketProxy(docker.url!.replace('unix://', ''), join(dir, 'docker.sock'));
    const orchestrator = createDockerOrchestrator({ dockerHost: `unix://${proxy.path}`, stopTimeoutSeconds: 1, restartWaitMs: 20_000 });
    stack = await createDeploymentStack({ orchestrator, driftIntervalMs: 1000, pollMs: 250 });
    await stack.startWorkers();
  });
  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    for (const environmentId of environments) {
      const target = `kyo-reconcile-${environmentId.slice(0, 8)}`;
      await stack.orchestrator.removeEnvironment({ tenantId: TENANT, environmentId, target }).catch(() => undefined);
    }
    await stack?.close();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const environment = (type: 'production' | 'development' = 'production') => {
    const environmentId = randomUUID();
    environments.push(environmentId);
    return stack.directory.addEnvironment({ tenantId: TENANT, environmentId, type, target: `kyo-reconcile-${environmentId.slice(0, 8)}` })
      .environmentId;
  };
  const state = async (id: string) => (await loadDeployment(stack.commands, TENANT, id))!;
  const waitStatus = (id: string, wanted: string, timeoutMs = 90_000) =>
    until(async () => statusOf(await state(id)) === wanted, `status ${wanted}`, timeoutMs).catch(async (error: Error) => {
      const s = await state(id);
      throw new Error(
        `${error.message}: ${statusOf(s)} ${JSON.stringify([s.releases.map((r) => r.failure), s.lastRollout, s.rollout?.done])}`,
      );
    });
  const containers = (id: string) => engine.listContainers({ all: true, filters: { label: [`kyo.dev/deployment=${id}`] } });
  const start = async (services: ServiceInput[], deadline = 60) => {
    const deploymentId = randomUUID();
    await deploy(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
      deploymentId,
      name: `d-${deploymentId.slice(0, 8)}`,
      applicationId: 'app',
      environmentId: environment(),
      version: '1',
      services,
      policy: { progressDeadlineSeconds: deadline },
    });
    return deploymentId;
  };

  it('the engine unreachable mid-rollout: the plan resumes when it is back, with no duplicate containers', async () => {
    const id = await start([httpService('web', 2), httpService('api', 1)]);
    await until(async () => ((await state(id)).rollout?.done.length ?? 0) >= 2, 'first steps done', 60_000);
    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(statusOf(await state(id))).toBe('deploying');
    await proxy.restore();
    await waitStatus(id, 'running');
    const running = await containers(id);
    expect(running.map((c) => `${c.Labels['kyo.dev/service']}/${c.State}`).sort()).toEqual(['api/running', 'web/running', 'web/running']);
  });

  it('a container that never becomes healthy fails the gate and production rolls back to the last good release', async () => {
    const id = await start([httpService('web', 1)], 8);
    await waitStatus(id, 'running');
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
      deploymentId: id,
      version: '2',
      services: current.map((s) => ({ ...s, healthCheck: { ...s.healthCheck!, http: null, command: ['/bin/false'] } })),
    });
    await waitStatus(id, 'rolled_back');
    const s = await state(id);
    expect(s.releases.map((r) => [r.kind, r.outcome])).toEqual([
      ['deploy', 'succeeded'],
      ['update', 'failed'],
      ['rollback', 'succeeded'],
    ]);
    const left = await containers(id);
    expect(left.map((c) => c.Labels['kyo.dev/release'])).toEqual(['1']);
  });

  // Issue #15 item 12: a process that exits 1 was recorded `succeeded`, then `degraded` and restarted in a loop.
  it('a release whose command exits 1 crashes the gate and production rolls back to the last good release', async () => {
    const id = await start([httpService('web', 1)], 60);
    await waitStatus(id, 'running');
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
      deploymentId: id,
      version: '2',
      services: current.map((s) => ({ ...s, command: ['/bin/sh', '-c', 'exit 1'], healthCheck: null })),
    });
    await waitStatus(id, 'rolled_back');
    const s = await state(id);
    expect(s.releases.map((r) => [r.kind, r.outcome])).toEqual([
      ['deploy', 'succeeded'],
      ['update', 'failed'],
      ['rollback', 'succeeded'],
    ]);
    expect(s.releases[1]!.failure).toMatch(/crashed: web replica 0 (exited with code 1|restart)/);
    const left = await containers(id);
    expect(left.map((c) => `${c.Labels['kyo.dev/release']}/${c.State}`)).toEqual(['1/running']);
  }, 240_000);

  // podman 4.3 re-splits a CMD health check array on blanks: ["/bin/sh","-c","exit 1"] ran `sh -c exit`, healthy.
  it('a health check command with a blank in an argument is run as given on podman (never healthy here)', async () => {
    const id = await start([httpService('web', 1)], 8);
    await waitStatus(id, 'running');
    const current = (await state(id)).releases[0]!.services;
    await updateDeployment(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
      deploymentId: id,
      version: '2',
      services: current.map((s) => ({ ...s, healthCheck: { ...s.healthCheck!, http: null, command: ['/bin/sh', '-c', 'exit 1'] } })),
    });
    await waitStatus(id, 'rolled_back');
    expect((await state(id)).releases.map((r) => r.outcome)).toEqual(['succeeded', 'failed', 'succeeded']);
  }, 240_000);

  it('a container killed behind our back is detected as drift and self-healed', async () => {
    const id = await start([httpService('web', 2)]);
    await waitStatus(id, 'running');
    const [victim] = await containers(id);
    await engine.getContainer(victim!.Id).kill();
    await until(
      async () => (await stack.eventStore.readStream(deploymentStreamId(TENANT, id))).some((e) => e.type === 'DriftResolved'),
      'drift resolved',
      60_000,
    );
    const detected = (await stack.eventStore.readStream(deploymentStreamId(TENANT, id))).find((e) => e.type === 'DriftDetected')!;
    expect(detected.data.findings).toEqual([expect.objectContaining({ service: 'web', kind: 'missing' })]);
    await until(async () => (await containers(id)).filter((c) => c.State === 'running').length === 2, 'two running again', 30_000);
    expect(await containers(id)).toHaveLength(2);
  });
});
