// The behaviour every orchestrator adapter must have, run against Docker (podman's API), Kubernetes (when
// KUBECONFIG is set) and the in-memory fake the reconciler tests use. Each test works in an environment and
// deployment of its own and removes the environment afterwards.
//
// The services it deploys, for a fake that has to tell them apart: `web` serves HTTP with busybox httpd and has
// an HTTP health check on /index.html (it must become healthy); `broken` runs the same server with a health
// check command that always fails (`/bin/false`: it must become unhealthy); `plain` has no health check (health
// `none`). The image needs busybox's sh, httpd and wget (busybox:1.36 on a cluster; the local busybox image here).
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type {
  DeploymentTarget,
  EnvironmentTarget,
  ObservedInstance,
  Orchestrator,
  ResolvedService,
} from '../../../src/ports/orchestrator.js';

export interface OrchestratorUnderTest {
  readonly orchestrator: Orchestrator;
  /** An image with busybox's `sh` and `httpd` (and `wget` for HTTP checks run inside the container). */
  readonly image: string;
  /** Upper bound for a state to be reached (containers start in ~1 s; pods may take longer). */
  readonly settleMs?: number;
  close?(): Promise<void>;
}

export type OrchestratorFactory = () => Promise<OrchestratorUnderTest | { skipReason: string }>;

const HTTP_PORT = 8080;

export const contractService = (
  image: string,
  name: 'web' | 'broken' | 'plain',
  overrides: Partial<ResolvedService> = {},
): ResolvedService => ({
  name,
  type: 'backend',
  image,
  replicas: 1,
  release: 1,
  ports: [{ containerPort: HTTP_PORT, protocol: 'tcp' }],
  env: { GREETING: 'hello' },
  volumes: [],
  command: ['/bin/sh', '-c', `mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p ${HTTP_PORT} -h /tmp/www`],
  resources: { cpuMillis: 250, memoryMb: 64 },
  ...(name === 'web'
    ? {
        healthCheck: {
          http: { path: '/index.html', port: HTTP_PORT },
          intervalSeconds: 1,
          timeoutSeconds: 2,
          healthyThreshold: 1,
          unhealthyThreshold: 2,
        },
      }
    : name === 'broken'
      ? { healthCheck: { command: ['/bin/false'], intervalSeconds: 1, timeoutSeconds: 2, healthyThreshold: 1, unhealthyThreshold: 2 } }
      : {}),
  ...overrides,
});

export function orchestratorContract(name: string, makeOrchestrator: OrchestratorFactory): void {
  describe(`orchestrator contract: ${name}`, async () => {
    const made = await makeOrchestrator();
    if ('skipReason' in made) {
      it.skip(`skipped: ${made.skipReason}`, () => {});
      return;
    }
    const { orchestrator, image } = made;
    const settleMs = made.settleMs ?? 30_000;
    const environments: EnvironmentTarget[] = [];

    afterAll(async () => {
      await Promise.all(environments.map((environment) => orchestrator.removeEnvironment(environment)));
      await made.close?.();
    });

    const freshDeployment = async (): Promise<DeploymentTarget> => {
      const suffix = randomUUID().slice(0, 8);
      const environment: EnvironmentTarget = { tenantId: `t-${suffix}`, environmentId: randomUUID(), target: `kyo-contract-${suffix}` };
      environments.push(environment);
      await orchestrator.ensureEnvironment(environment);
      return { ...environment, deploymentId: randomUUID(), deploymentName: `app-${suffix}` };
    };

    const observe = (d: DeploymentTarget) =>
      orchestrator.observe({ tenantId: d.tenantId, environmentId: d.environmentId, deploymentId: d.deploymentId });

    const eventually = async (d: DeploymentTarget, accept: (instances: ObservedInstance[]) => boolean): Promise<ObservedInstance[]> => {
      const deadline = Date.now() + settleMs;
      let last: ObservedInstance[] = [];
      while (Date.now() < deadline) {
        last = await observe(d);
        if (accept(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`not reached within ${settleMs} ms; last observed: ${JSON.stringify(last)}`);
    };

    const shape = (instances: readonly ObservedInstance[]) => instances.map((i) => `${i.service}/r${i.release}/${i.replica}`).sort();

    it('answers ping as reachable', async () => {
      expect(await orchestrator.ping()).toMatchObject({ kind: orchestrator.kind, configured: true, reachable: true });
    });

    it('ensures an environment idempotently, and an empty one observes nothing', async () => {
      const d = await freshDeployment();
      await Promise.all([orchestrator.ensureEnvironment(d), orchestrator.ensureEnvironment(d)]);
      expect(await orchestrator.observe({ tenantId: d.tenantId, environmentId: d.environmentId })).toEqual([]);
    });

    it('applies a service idempotently: repeated and concurrent calls make exactly the replicas asked for', async () => {
      const d = await freshDeployment();
      const web = contractService(image, 'plain', { replicas: 2 });
      await orchestrator.applyService(d, web);
      await Promise.all([orchestrator.applyService(d, web), orchestrator.applyService(d, web)]);
      const instances = await eventually(d, (all) => all.length === 2 && all.every((i) => i.state === 'running'));
      expect(shape(instances)).toEqual(['plain/r1/0', 'plain/r1/1']);
      expect(instances.every((i) => i.deploymentId === d.deploymentId && i.image === image && i.health === 'none')).toBe(true);
      expect(new Set(instances.map((i) => i.id)).size).toBe(2);
    });

    it('scales up and down within a release', async () => {
      const d = await freshDeployment();
      await orchestrator.applyService(d, contractService(image, 'plain', { replicas: 3 }));
      await eventually(d, (all) => shape(all).join() === 'plain/r1/0,plain/r1/1,plain/r1/2');
      await orchestrator.applyService(d, contractService(image, 'plain', { replicas: 1 }));
      const instances = await eventually(d, (all) => all.length === 1);
      expect(shape(instances)).toEqual(['plain/r1/0']);
      await orchestrator.applyService(d, contractService(image, 'plain', { replicas: 0 }));
      await eventually(d, (all) => all.length === 0);
    });

    it('leaves the previous release running until it is pruned', async () => {
      const d = await freshDeployment();
      await orchestrator.applyService(d, contractService(image, 'plain', { replicas: 1, release: 1 }));
      await orchestrator.applyService(d, contractService(image, 'plain', { replicas: 2, release: 2, env: { GREETING: 'hi' } }));
      await eventually(d, (all) => shape(all).join() === 'plain/r1/0,plain/r2/0,plain/r2/1' && all.every((i) => i.state === 'running'));
      await orchestrator.pruneService(d, 'plain', 2);
      await orchestrator.pruneService(d, 'plain', 2);
      const instances = await eventually(d, (all) => all.length === 2);
      expect(shape(instances)).toEqual(['plain/r2/0', 'plain/r2/1']);
    });

    it('reports healthy for a passing health check and unhealthy for a failing one', async () => {
      const d = await freshDeployment();
      await orchestrator.applyService(d, contractService(image, 'web'));
      await orchestrator.applyService(d, contractService(image, 'broken'));
      await eventually(d, (all) => {
        const web = all.find((i) => i.service === 'web');
        const broken = all.find((i) => i.service === 'broken');
        return web?.health === 'healthy' && broken?.health === 'unhealthy';
      });
    });

    it('stops, starts and restarts a service, keeping its replicas', async () => {
      const d = await freshDeployment();
      await orchestrator.applyService(d, contractService(image, 'web', { replicas: 2 }));
      await eventually(d, (all) => all.length === 2 && all.every((i) => i.state === 'running' && i.health === 'healthy'));
      await orchestrator.stopService(d, 'web');
      await orchestrator.stopService(d, 'web');
      await eventually(d, (all) => all.every((i) => i.state === 'stopped' && i.health !== 'healthy'));
      await orchestrator.startService(d, 'web');
      await orchestrator.startService(d, 'web');
      await eventually(
        d,
        (all) => shape(all).join() === 'web/r1/0,web/r1/1' && all.every((i) => i.state === 'running' && i.health === 'healthy'),
      );
      await orchestrator.restartService(d, 'web');
      const instances = await eventually(d, (all) => all.length === 2 && all.every((i) => i.state === 'running' && i.health === 'healthy'));
      expect(shape(instances)).toEqual(['web/r1/0', 'web/r1/1']);
    });

    it('removes one service and leaves the others; removes the environment with everything in it', async () => {
      const d = await freshDeployment();
      await orchestrator.applyService(d, contractService(image, 'plain'));
      await orchestrator.applyService(d, contractService(image, 'web', { ports: [{ containerPort: HTTP_PORT, protocol: 'tcp' }] }));
      await eventually(d, (all) => all.length === 2);
      await orchestrator.removeService(d, 'plain');
      await orchestrator.removeService(d, 'plain');
      const left = await eventually(d, (all) => all.length === 1);
      expect(left[0]?.service).toBe('web');
      await orchestrator.removeEnvironment(d);
      await orchestrator.removeEnvironment(d);
      expect(await orchestrator.observe({ tenantId: d.tenantId, environmentId: d.environmentId })).toEqual([]);
    });

    it('observes only the scope asked for: another deployment, environment or tenant sees nothing of it', async () => {
      const d = await freshDeployment();
      const sibling: DeploymentTarget = { ...d, deploymentId: randomUUID(), deploymentName: 'sibling' };
      await orchestrator.applyService(d, contractService(image, 'plain'));
      await orchestrator.applyService(sibling, contractService(image, 'plain'));
      await eventually(d, (all) => all.length === 1);
      expect((await observe(sibling)).map((i) => i.deploymentId)).toEqual([sibling.deploymentId]);
      expect(await orchestrator.observe({ tenantId: d.tenantId, environmentId: d.environmentId })).toHaveLength(2);
      expect(await orchestrator.observe({ tenantId: 'someone-else', environmentId: d.environmentId })).toEqual([]);
      expect(await orchestrator.observe({ tenantId: d.tenantId, environmentId: randomUUID() })).toEqual([]);
    });
  });
}
