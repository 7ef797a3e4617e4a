// Deployment figures on the Docker adapter (podman's Docker API, busybox httpd containers) with the
// reconciler on PostgreSQL: time from `deploy` accepted to `running` for 3 services × 2 replicas, split into
// the orchestrator's own time (the steps' calls, health gate included) and ours; time to detect a failed
// health gate and to finish the automatic rollback; and the reconciler's overhead per step, measured with
// the in-memory orchestrator, whose calls cost nothing.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDockerOrchestrator } from '../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { deploy, updateDeployment } from '../src/commands/deployments/deployment-handlers.js';
import { statusOf, type DeploymentEvent, type PlanStep } from '../src/domain/deployments/index.js';
import type { Orchestrator } from '../src/ports/orchestrator.js';
import { loadDeployment } from '../src/processes/deployments/deployment-steps.js';
import { contextOf } from '../test/support/batch-stack.js';
import { createDeploymentStack, type DeploymentStack } from '../test/support/deployment-stack.js';
import { httpService } from '../test/support/http-service.js';

const round = (ms: number) => Math.round(ms * 10) / 10;

async function waitFor(stack: DeploymentStack, id: string, accept: (status: string) => boolean, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await loadDeployment(stack.commands, 'bench', id))!;
    if (accept(statusOf(state))) return performance.now();
    if (Date.now() > deadline) throw new Error(`deployment ${id} stuck at ${statusOf(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function run(databaseUrl: string, orchestrator: Orchestrator | undefined, failGate: boolean) {
  let stepMs = 0;
  let steps = 0;
  const events: { type: string; at: number }[] = [];
  const stack = await createDeploymentStack({
    databaseUrl,
    ...(orchestrator ? { orchestrator } : { healthyAfterMs: 0 }),
    pollMs: 50,
    // The service's defaults (event store 100 ms, SQL queue 250 ms): a rollout is carried by wake-ups on
    // append and on commit, never by a poll.
    storePollMs: 100,
    queuePollMs: 250,
    observer: {
      stepFinished: (_kind: PlanStep['kind'], seconds: number) => {
        stepMs += seconds * 1000;
        steps++;
      },
      recorded: (recorded: readonly DeploymentEvent[]) => recorded.forEach((e) => events.push({ type: e.type, at: performance.now() })),
    },
  });
  const environmentId = randomUUID();
  const target = `kyo-bench-${environmentId.slice(0, 8)}`;
  stack.directory.addEnvironment({ tenantId: 'bench', environmentId, target, type: 'production' });
  await stack.startWorkers();
  try {
    const id = randomUUID();
    const services = ['web', 'api', 'worker'].map((name) => httpService(name, 2));
    const accepted = performance.now();
    await deploy(stack.commands, contextOf('bench', 'bench', randomUUID()), {
      deploymentId: id,
      name: 'bench',
      applicationId: 'bench',
      environmentId,
      version: '1',
      services,
      policy: { progressDeadlineSeconds: 10 },
    });
    const acceptedAt = performance.now();
    const running = await waitFor(stack, id, (s) => s === 'running');
    const total = running - accepted;
    const deployFigures = {
      acceptToRunningMs: round(running - acceptedAt),
      commandMs: round(acceptedAt - accepted),
      orchestratorMs: round(stepMs),
      oursMs: round(total - stepMs),
      steps,
      oursPerStepMs: round((total - stepMs) / steps),
    };
    if (!failGate) return deployFigures;
    const current = (await loadDeployment(stack.commands, 'bench', id))!.releases[0]!.services;
    const updated = performance.now();
    events.length = 0;
    await updateDeployment(stack.commands, contextOf('bench', 'bench', randomUUID()), {
      deploymentId: id,
      version: '2',
      services: current.map((s) =>
        s.name === 'web' ? { ...s, healthCheck: { ...s.healthCheck!, http: null, command: ['/bin/false'] } } : s,
      ),
    });
    const rolledBack = await waitFor(stack, id, (s) => s === 'rolled_back');
    const failed = events.find((e) => e.type === 'RolloutFailed')!.at;
    return {
      deploy: deployFigures,
      failedGate: {
        progressDeadlineMs: 10_000,
        updateToFailedMs: round(failed - updated),
        detectBeyondDeadlineMs: round(failed - updated - 10_000),
        failedToRolledBackMs: round(rolledBack - failed),
      },
    };
  } finally {
    if (orchestrator) await orchestrator.removeEnvironment({ tenantId: 'bench', environmentId, target }).catch(() => undefined);
    await stack.close();
  }
}

export async function benchDeployments(databaseUrl: () => Promise<string>, dockerHost: string | undefined) {
  const overhead = await run(await databaseUrl(), undefined, false);
  const docker = dockerHost
    ? await run(await databaseUrl(), createDockerOrchestrator({ dockerHost, stopTimeoutSeconds: 1 }), true)
    : { skipped: 'no Docker API' };
  return { reconcilerOverheadMemoryOrchestrator: overhead, docker };
}

/** A fresh database on the bench's server: each run starts from an empty event store. */
export async function freshDatabase(adminUrl: string): Promise<string> {
  const name = `bench_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
