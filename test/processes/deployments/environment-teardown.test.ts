// Issue #15 item 13: a forced environment delete tears down: the environment is `deleting`, its deployments
// are deleted and their instances removed, then its target (network), then EnvironmentDeleted frees its name.
// Before, nothing tore anything down and it stayed `deleting`. On the in-memory orchestrator (PGlite and
// PostgreSQL) and on a real Docker Engine API (podman's), with real containers and a real network.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerOrchestrator } from '../../../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { targetName } from '../../../src/adapters/orchestrator/naming.js';
import { deploy } from '../../../src/commands/deployments/deployment-handlers.js';
import { createEnvironment, deleteEnvironment } from '../../../src/commands/environments/index.js';
import { loadAggregate } from '../../../src/commands/handle-command.js';
import { statusOf } from '../../../src/domain/deployments/index.js';
import { DEFAULT_FLAGS, environmentDecider, environmentStreamId } from '../../../src/domain/environments/index.js';
import { loadDeployment } from '../../../src/processes/deployments/deployment-steps.js';
import { countActiveDeployments } from '../../../src/projections/deployments/deployment-queries.js';
import { contextOf, until } from '../../support/batch-stack.js';
import { createDeploymentStack, type DeploymentStack } from '../../support/deployment-stack.js';
import { httpService } from '../../support/http-service.js';
import { dockerService, postgresService } from '../../support/services.js';
import { deploymentStreamId } from '../../../src/domain/deployments/index.js';

const docker = dockerService();
const postgres = postgresService();
const TENANT = 'acme';

const cases = [
  { name: 'memory orchestrator, PGlite', skip: undefined, docker: false, databaseUrl: undefined },
  {
    name: 'memory orchestrator, PostgreSQL',
    skip: postgres.url ? undefined : postgres.skipReason,
    docker: false,
    databaseUrl: postgres.url,
  },
  { name: 'Docker (podman)', skip: docker.url ? undefined : docker.skipReason, docker: true, databaseUrl: undefined },
];

describe.each(cases)('environment teardown: $name', ({ skip, docker: onDocker, databaseUrl }) => {
  let stack: DeploymentStack;
  const engine = onDocker ? new Docker({ socketPath: docker.url!.replace('unix://', '') }) : undefined;
  const environmentId = randomUUID();
  const target = `kyo-teardown-${environmentId.slice(0, 8)}`;

  beforeAll(async () => {
    if (skip) return;
    const orchestrator = onDocker ? createDockerOrchestrator({ dockerHost: docker.url!, stopTimeoutSeconds: 1 }) : undefined;
    stack = await createDeploymentStack({
      ...(orchestrator ? { orchestrator, pollMs: 250 } : {}),
      ...(databaseUrl ? { databaseUrl } : {}),
    });
    await stack.startWorkers();
  });
  afterAll(async () => {
    await stack?.orchestrator.removeEnvironment({ tenantId: TENANT, environmentId, target }).catch(() => undefined);
    await stack?.close();
  });

  const environmentState = async () =>
    (await loadAggregate(stack.commands, environmentDecider, environmentStreamId(TENANT, environmentId), { tenantId: TENANT })).state;
  const instances = async (ids: string[]) =>
    engine
      ? (await engine.listContainers({ all: true, filters: { label: [`kyo.dev/environment=${environmentId}`] } })).length
      : stack.memory!.instances().filter((i) => ids.includes(i.deploymentId)).length;
  const networkName = targetName({ tenantId: TENANT, target });
  const network = async () =>
    engine
      ? // The Docker network is named per tenant (item 5): the target plus a key of (tenant, target).
        (await engine.listNetworks({ filters: { name: [networkName] } })).filter((n) => n.Name === networkName).length
      : stack.memory!.environments().filter((e) => e === target).length;

  it.skipIf(skip)(
    'a forced delete removes the deployments, then the network, then records EnvironmentDeleted',
    async () => {
      const settings = {
        name: `teardown-${environmentId.slice(0, 8)}`,
        type: 'staging' as const,
        orchestrator: 'docker' as const,
        target,
        flags: DEFAULT_FLAGS,
        quotas: {},
        networking: {},
        security: {},
      };
      await createEnvironment(stack.commands, contextOf(TENANT, 'alice', randomUUID()), { environmentId, settings });
      stack.directory.addEnvironment({ tenantId: TENANT, environmentId, type: 'staging', target });
      const ids = [randomUUID(), randomUUID()];
      for (const deploymentId of ids) {
        await deploy(stack.commands, contextOf(TENANT, 'alice', randomUUID()), {
          deploymentId,
          name: `d-${deploymentId.slice(0, 8)}`,
          applicationId: 'app',
          environmentId,
          version: '1',
          services: [httpService('web', 1)],
        });
      }
      for (const id of ids)
        await until(async () => statusOf((await loadDeployment(stack.commands, TENANT, id))!) === 'running', `${id} running`, 120_000);
      expect(await instances(ids)).toBe(2);
      expect(await network()).toBe(1);

      await stack.caughtUp();
      const running = await countActiveDeployments(stack.db.kysely, TENANT, environmentId);
      expect(running).toBe(2);
      const started = await deleteEnvironment(
        { ...stack.commands, runningDeployments: async () => running },
        contextOf(TENANT, 'alice', randomUUID()),
        { environmentId, force: true },
      );
      expect(started.state.status).toBe('deleting');

      await until(async () => (await environmentState()).status === 'deleted', 'environment deleted', 150_000);
      for (const id of ids) {
        const state = (await loadDeployment(stack.commands, TENANT, id))!;
        expect([state.deleted, state.rollout, state.lastRollout?.operation]).toEqual([true, null, 'delete']);
      }
      expect(await instances(ids)).toBe(0);
      expect(await network()).toBe(0);
      // The order: every deployment's deletion before the environment's.
      const log = (await stack.eventStore.readAll({ maxCount: 100_000 })).events;
      const at = (type: string, stream: string) => log.findIndex((e) => e.type === type && e.streamId === stream);
      const deletedAt = at('EnvironmentDeleted', environmentStreamId(TENANT, environmentId));
      for (const id of ids) expect(at('RolloutSucceeded', deploymentStreamId(TENANT, id))).toBeLessThan(deletedAt);
    },
    300_000,
  );
});
