// What the Docker adapter does beyond the contract, against podman's Docker API: labels, names, limits and
// security options on the containers; config and secret files, scratch and persistent volumes; a repeated call
// after a crash; two tenants' environments of one target side by side; refusals (a network of the name made
// outside the service, a missing image, an unreachable engine).
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { replicaSpec } from '../../../../src/adapters/orchestrator/docker/container-spec.js';
import { createDockerOrchestrator } from '../../../../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { targetName } from '../../../../src/adapters/orchestrator/naming.js';
import {
  OrchestratorError,
  type DeploymentTarget,
  type EnvironmentTarget,
  type ResolvedService,
} from '../../../../src/ports/orchestrator.js';
import { BUSYBOX_IMAGE } from '../../../support/busybox-image.js';
import { dockerService } from '../../../support/services.js';
import { contractService } from '../orchestrator-contract.js';

const docker = dockerService();

describe.skipIf(!docker.url)(`Docker adapter ${docker.skipReason ?? ''}`, () => {
  const host = docker.url!;
  const engine = new Docker({ socketPath: host.replace('unix://', '') });
  const orchestrator = createDockerOrchestrator({ dockerHost: host, stopTimeoutSeconds: 1 });
  const environments: EnvironmentTarget[] = [];

  afterAll(async () => {
    await Promise.all(environments.map((environment) => orchestrator.removeEnvironment(environment)));
  });

  const freshDeployment = async (security?: EnvironmentTarget['security']): Promise<DeploymentTarget> => {
    const suffix = randomUUID().slice(0, 8);
    const environment: EnvironmentTarget = {
      tenantId: `t-${suffix}`,
      environmentId: randomUUID(),
      target: `kyo-docker-${suffix}`,
      ...(security ? { security } : {}),
    };
    environments.push(environment);
    await orchestrator.ensureEnvironment(environment);
    return { ...environment, deploymentId: randomUUID(), deploymentName: `Shop App ${suffix}` };
  };

  const containersOf = (d: DeploymentTarget) =>
    engine.listContainers({ all: true, filters: { label: [`kyo.dev/deployment=${d.deploymentId}`] } });

  const waitFor = async <T>(read: () => Promise<T>, accept: (value: T) => boolean, ms = 20_000): Promise<T> => {
    const deadline = Date.now() + ms;
    let value = await read();
    while (!accept(value) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      value = await read();
    }
    return value;
  };

  it('names, labels and limits each replica and joins it to the environment network under the service alias', async () => {
    const d = await freshDeployment({ allowPrivilegeEscalation: false, runAsNonRoot: true });
    await orchestrator.applyService(
      d,
      contractService(BUSYBOX_IMAGE, 'plain', {
        replicas: 2,
        resources: { cpuMillis: 500, memoryMb: 96 },
        command: ['/bin/sh', '-c', 'echo "uid=$(id -u) token=$(cat /run/secrets/token)"; exec sleep 600'],
        volumes: [{ name: 'token', kind: 'secret', mountPath: '/run/secrets', files: { token: 's3cr3t' } }],
      }),
    );
    // Non-root, and still able to read its secret (the files are given to the user it runs as, mode 0600).
    const lines = await waitFor(
      () => orchestrator.logs(d, 'plain'),
      (found) => found.length >= 2,
    );
    expect([...lines].sort()).toEqual(['[r1-0] uid=65534 token=s3cr3t', '[r1-1] uid=65534 token=s3cr3t']);
    const listed = await containersOf(d);
    expect(listed.map((c) => c.Names[0]?.replace(/^\//, '')).sort()).toEqual([
      expect.stringMatching(/^kyo-[0-9a-f]{10}-shop-app-[0-9a-f]{8}-plain-r1-0$/),
      expect.stringMatching(/^kyo-[0-9a-f]{10}-shop-app-[0-9a-f]{8}-plain-r1-1$/),
    ]);
    const info = await engine.getContainer(listed[0]!.Id).inspect();
    expect(info.Config.Labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kyo',
      'kyo.dev/tenant': d.tenantId,
      'kyo.dev/environment': d.environmentId,
      'kyo.dev/deployment': d.deploymentId,
      'kyo.dev/service': 'plain',
      'kyo.dev/release': '1',
    });
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.Config.User).toBe('65534:65534');
    expect(info.Config.Env).toContain('GREETING=hello');
    expect(info.NetworkSettings.Networks[targetName(d)]?.Aliases).toContain(`shop-app-${d.deploymentName.slice(-8)}-plain`);
  });

  it('puts config and secret files in place, gives scratch space on a read-only root, and keeps persistent data across releases', async () => {
    const d = await freshDeployment({ readOnlyRootFilesystem: true });
    const script = [
      'echo "$(cat /etc/app/app.conf)"',
      'stat -c "%a %n" /run/secrets/token',
      'echo scratch > /scratch/x && cat /scratch/x',
      '(echo ro > /ro-test) 2>/dev/null || echo root-is-read-only',
      'echo "$GREETING" >> /data/history; wc -l < /data/history',
      'exec httpd -f -p 8080 -h /www',
    ].join('; ');
    const service = (release: number): ResolvedService =>
      contractService(BUSYBOX_IMAGE, 'plain', {
        release,
        command: ['/bin/sh', '-c', script],
        env: { GREETING: `release-${release}` },
        volumes: [
          { name: 'app-config', kind: 'configmap', mountPath: '/etc/app', files: { 'app.conf': `mode=release-${release}` } },
          { name: 'token', kind: 'secret', mountPath: '/run/secrets', files: { token: 's3cr3t' } },
          { name: 'scratch', kind: 'emptydir', mountPath: '/scratch' },
          { name: 'data', kind: 'persistent', mountPath: '/data', size: '1Gi' },
        ],
      });
    await orchestrator.applyService(d, service(1));
    const first = await waitFor(
      () => orchestrator.logs(d, 'plain'),
      (lines) => lines.length >= 5,
    );
    expect(first).toEqual([
      '[r1-0] mode=release-1',
      '[r1-0] 600 /run/secrets/token',
      '[r1-0] scratch',
      '[r1-0] root-is-read-only',
      '[r1-0] 1',
    ]);
    await orchestrator.applyService(d, service(2));
    await orchestrator.pruneService(d, 'plain', 1 + 1);
    const second = await waitFor(
      () => orchestrator.logs(d, 'plain'),
      (lines) => lines.length >= 5,
    );
    expect(second).toEqual([
      '[r2-0] mode=release-2',
      '[r2-0] 600 /run/secrets/token',
      '[r2-0] scratch',
      '[r2-0] root-is-read-only',
      '[r2-0] 2',
    ]);
    const volumes = (await engine.listVolumes({ filters: { label: [`kyo.dev/deployment=${d.deploymentId}`] } })).Volumes.map(
      (v) => v.Name,
    ).sort();
    expect(volumes.some((name) => name.includes('-r1-'))).toBe(false);
    expect(volumes.filter((name) => name.includes('-r2-'))).toHaveLength(2);
    await orchestrator.removeService(d, 'plain');
    expect((await engine.listVolumes({ filters: { label: [`kyo.dev/deployment=${d.deploymentId}`] } })).Volumes).toEqual([]);
  });

  it('finishes what a crashed call began: a created but never started replica is started, not duplicated', async () => {
    const d = await freshDeployment();
    const service = contractService(BUSYBOX_IMAGE, 'plain', { replicas: 2 });
    // The first call died after creating replica 0 and before starting it.
    await engine.createContainer(replicaSpec(d, d, service, 0).options);
    const other = createDockerOrchestrator({ dockerHost: host });
    await Promise.all([orchestrator.applyService(d, service), other.applyService(d, service)]);
    const listed = await containersOf(d);
    expect(listed).toHaveLength(2);
    expect(listed.every((c) => c.State === 'running')).toBe(true);
  });

  it('recreates an instance whose spec drifted under the same release, and one removed behind its back', async () => {
    const d = await freshDeployment();
    await orchestrator.applyService(d, contractService(BUSYBOX_IMAGE, 'plain', { replicas: 2 }));
    const before = await containersOf(d);
    await engine.getContainer(before.find((c) => c.Labels['kyo.dev/replica'] === '1')!.Id).remove({ force: true });
    await orchestrator.applyService(d, contractService(BUSYBOX_IMAGE, 'plain', { replicas: 2, env: { GREETING: 'changed' } }));
    const after = await containersOf(d);
    expect(after).toHaveLength(2);
    expect(after.map((c) => c.Id).filter((id) => before.some((b) => b.Id === id))).toEqual([]);
  });

  it("#15.5 two tenants' environments with the same target both deploy, each on a network of its own", async () => {
    // The same configured target in two tenants (both call their environment "production"): before, the
    // second tenant met the first one's network and was refused at deploy time.
    const target = `production-${randomUUID().slice(0, 8)}`;
    const [a, b] = ['acme', 'globex'].map((tenant): DeploymentTarget => {
      const environment: EnvironmentTarget = { tenantId: `${tenant}-${randomUUID().slice(0, 8)}`, environmentId: randomUUID(), target };
      environments.push(environment);
      return { ...environment, deploymentId: randomUUID(), deploymentName: `${tenant} shop` };
    });
    await orchestrator.ensureEnvironment(a!);
    await orchestrator.ensureEnvironment(b!);
    await orchestrator.applyService(a!, contractService(BUSYBOX_IMAGE, 'plain'));
    await orchestrator.applyService(b!, contractService(BUSYBOX_IMAGE, 'plain'));
    const running = async (d: DeploymentTarget) =>
      waitFor(
        () => containersOf(d),
        (found) => found.length === 1 && found[0]!.State === 'running',
      );
    const [inA] = await running(a!);
    const [inB] = await running(b!);
    expect(inA?.State).toBe('running');
    expect(inB?.State).toBe('running');
    const networkOf = async (id: string) => Object.keys((await engine.getContainer(id).inspect()).NetworkSettings.Networks);
    const [netA, netB] = [(await networkOf(inA!.Id))[0]!, (await networkOf(inB!.Id))[0]!];
    expect(netA).not.toBe(netB);
    for (const [name, d] of [
      [netA, a!],
      [netB, b!],
    ] as const) {
      // A DNS label (also a valid Kubernetes namespace), still readable as the target, labelled with its owner.
      expect(name).toMatch(new RegExp(`^${target}-[0-9a-f]{10}$`));
      expect(name.length).toBeLessThanOrEqual(63);
      const network = (await engine.getNetwork(name).inspect()) as { Labels: Record<string, string> };
      expect(network.Labels).toMatchObject({ 'kyo.dev/tenant': d.tenantId, 'kyo.dev/environment': d.environmentId });
    }
    // Removing one tenant's environment leaves the other's running.
    await orchestrator.removeEnvironment(a!);
    expect(await containersOf(a!)).toEqual([]);
    expect((await containersOf(b!)).map((c) => c.State)).toEqual(['running']);
  });

  it('refuses a network of its name made outside the service, and an image that cannot be had', async () => {
    const suffix = randomUUID().slice(0, 8);
    const squatted: EnvironmentTarget = { tenantId: `t-${suffix}`, environmentId: randomUUID(), target: `kyo-squat-${suffix}` };
    await engine.createNetwork({ Name: targetName(squatted), Driver: 'bridge' });
    try {
      await expect(orchestrator.ensureEnvironment(squatted)).rejects.toMatchObject({ name: 'OrchestratorError', reason: 'conflict' });
    } finally {
      await engine.getNetwork(targetName(squatted)).remove();
    }
    const d = await freshDeployment();
    await expect(orchestrator.applyService(d, contractService('localhost/no-such-image:1', 'plain'))).rejects.toMatchObject({
      name: 'OrchestratorError',
      reason: 'invalid',
    });
    expect(await containersOf(d)).toEqual([]);
  });

  it('says why an engine is unreachable, and fails calls as unreachable so the caller retries later', async () => {
    const nowhere = createDockerOrchestrator({ dockerHost: `unix:///tmp/kyo-no-docker-${randomUUID()}.sock` });
    const reachability = await nowhere.ping();
    expect(reachability).toMatchObject({ kind: 'docker', configured: true, reachable: false });
    expect(reachability.detail).toBe('the Docker engine at DOCKER_HOST does not answer (ENOENT)');
    const error = await nowhere.observe({ tenantId: 't', environmentId: 'e' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchestratorError);
    expect(error).toMatchObject({ reason: 'unreachable' });
  });
});
