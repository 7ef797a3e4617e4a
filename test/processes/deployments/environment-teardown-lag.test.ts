// The teardown of a deleted environment finds its deployments in the deployments read model. A deployment
// accepted just before the delete may not be projected yet: the teardown must not finish (removing the target
// and recording EnvironmentDeleted) until that read model has reached the deletion's position — else the
// deployment's containers outlive their environment. Driven by hand on PGlite: the read model's position is
// whatever the test says.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, deleteEnvironment } from '../../../src/commands/environments/index.js';
import { loadAggregate } from '../../../src/commands/handle-command.js';
import { DEFAULT_FLAGS, environmentDecider, environmentStreamId } from '../../../src/domain/environments/index.js';
import { START, type Position } from '../../../src/ports/event-store.js';
import type { Job } from '../../../src/ports/job-queue.js';
import {
  environmentTeardownProcess,
  environmentTeardownWorker,
  type TeardownJob,
} from '../../../src/processes/deployments/environment-teardown.js';
import { contextFor, openPgliteStore, type OpenStore } from '../../commands/fixtures/store.js';
import { fakeEnvironmentDirectory } from '../../support/fake-environment-directory.js';
import { memoryOrchestrator, memoryRegistry } from '../../support/memory-orchestrator.js';

describe('environment teardown waits for the deployments read model', () => {
  let opened: OpenStore;
  beforeAll(async () => {
    opened = await openPgliteStore();
  });
  afterAll(() => opened.close());

  it('does not finish the deletion while the read model is behind the delete, and finishes once it has caught up', async () => {
    const tenantId = 'tenant-teardown';
    const environmentId = randomUUID();
    const orchestrator = memoryOrchestrator();
    const commands = {
      eventStore: opened.store,
      clock: () => new Date(),
      directory: fakeEnvironmentDirectory(),
      orchestrators: memoryRegistry(orchestrator),
    };
    const context = contextFor({ tenantId });
    await createEnvironment(commands, context, {
      environmentId,
      settings: {
        name: 'Lagging',
        type: 'staging',
        orchestrator: 'docker',
        target: 'lagging',
        flags: DEFAULT_FLAGS,
        quotas: {},
        networking: {},
        security: {},
      },
    });
    // A forced delete while one deployment runs (the census says so): the environment is `deleting`.
    await deleteEnvironment({ ...commands, runningDeployments: async () => 1 }, contextFor({ tenantId }), { environmentId, force: true });
    const [deletion] = (await opened.store.readStream(environmentStreamId(tenantId, environmentId))).filter(
      (e) => e.type === 'EnvironmentDeletionStarted',
    );
    expect(deletion).toBeDefined();

    // The process manager's job carries the deletion's position.
    const enqueued: TeardownJob[] = [];
    await environmentTeardownProcess().handle(deletion!, {
      enqueue: async (_queue: string, payload: unknown) => void enqueued.push(payload as TeardownJob),
    } as never);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.after).toBeDefined();

    let projectedTo: Position = START;
    const worker = environmentTeardownWorker({ commands, deploymentsIn: async () => [], deploymentsProjectedTo: async () => projectedTo });
    const job = { id: 'teardown-1', queue: 'environment-teardown', payload: enqueued[0]!, attempt: 1 } as unknown as Job;
    const status = async () =>
      (await loadAggregate(commands, environmentDecider, environmentStreamId(tenantId, environmentId), { tenantId })).state.status;

    await expect(worker(job)).rejects.toThrow(/deployments read model/);
    expect(await status()).toBe('deleting');

    projectedTo = deletion!.position;
    await worker(job);
    expect(await status()).toBe('deleted');
  });
});
