// The service process killed mid-rollout (SIGKILL, a real process on PostgreSQL and podman's Docker API):
// another one resumes the plan from the deployment's events. No finished step runs twice and no container
// is duplicated: the deployment ends with exactly its replicas.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createDockerOrchestrator } from '../../../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { deploy } from '../../../src/commands/deployments/deployment-handlers.js';
import { statusOf } from '../../../src/domain/deployments/index.js';
import { loadDeployment } from '../../../src/processes/deployments/deployment-steps.js';
import { contextOf, until } from '../../support/batch-stack.js';
import { createDeploymentStack } from '../../support/deployment-stack.js';
import { createTestDatabase, dockerService, postgresService } from '../../support/services.js';
import { httpService } from '../../support/http-service.js';
import { deploymentStreamId } from '../../../src/domain/deployments/index.js';

const postgres = postgresService();
const docker = dockerService();
const fixture = fileURLToPath(new URL('./fixtures/run-deployment-workers.ts', import.meta.url));

describe.skipIf(!postgres.url || !docker.url)(
  `reconciler process killed mid-rollout ${postgres.skipReason ?? ''} ${docker.skipReason ?? ''}`,
  () => {
    it('resumes in another process with no step repeated and no duplicate container', { timeout: 180_000 }, async () => {
      const url = await createTestDatabase(postgres.url!);
      const orchestrator = createDockerOrchestrator({ dockerHost: docker.url!, stopTimeoutSeconds: 1 });
      const stack = await createDeploymentStack({ databaseUrl: url, orchestrator, queueLeaseMs: 1500, pollMs: 200 });
      const tenantId = 'acme';
      const environmentId = randomUUID();
      const target = `kyo-crash-${environmentId.slice(0, 8)}`;
      stack.directory.addEnvironment({ tenantId, environmentId, target });
      const engine = new Docker({ socketPath: docker.url!.replace('unix://', '') });
      try {
        const child = spawn('npx', ['tsx', fixture, url, docker.url!, tenantId, environmentId, target], {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
          child.on('exit', (code, signal) => resolve(signal ?? code)),
        );
        const id = randomUUID();
        await deploy(stack.commands, contextOf(tenantId, 'alice', randomUUID()), {
          deploymentId: id,
          name: 'crash',
          applicationId: 'app',
          environmentId,
          version: '1',
          services: [httpService('web', 2), httpService('api', 2)],
          policy: { progressDeadlineSeconds: 120 },
        });
        const state = async () => (await loadDeployment(stack.commands, tenantId, id))!;
        await until(
          async () => ((await state()).rollout?.done.length ?? 0) >= 2 || child.exitCode !== null,
          'the child to run two steps',
          90_000,
        );
        expect(child.exitCode, `the child died on its own: ${stderr}`).toBeNull();
        expect((await state()).rollout).not.toBeNull();
        process.kill(-child.pid!, 'SIGKILL');
        expect(await exited).toBe('SIGKILL');
        const doneAtKill = (await state()).rollout!.done;

        await stack.startWorkers();
        await until(async () => statusOf(await state()) === 'running', 'running after the restart', 120_000);
        const completed = (await stack.eventStore.readStream(deploymentStreamId(tenantId, id)))
          .filter((e) => e.type === 'RolloutStepCompleted')
          .map((e) => Number(e.data.step));
        expect(completed.slice(0, doneAtKill.length)).toEqual(doneAtKill);
        expect(new Set(completed).size).toBe(completed.length);
        const containers = await engine.listContainers({ all: true, filters: { label: [`kyo.dev/deployment=${id}`] } });
        expect(containers.map((c) => `${c.Labels['kyo.dev/service']}/${c.Labels['kyo.dev/replica']}/${c.State}`).sort()).toEqual([
          'api/0/running',
          'api/1/running',
          'web/0/running',
          'web/1/running',
        ]);
      } finally {
        await orchestrator.removeEnvironment({ tenantId, environmentId, target }).catch(() => undefined);
        await stack.close();
      }
    });
  },
);
