// The orchestrator contract against a real Docker Engine API (podman's, started for the run).
import { createDockerOrchestrator } from '../../../../src/adapters/orchestrator/docker/docker-orchestrator.js';
import { BUSYBOX_IMAGE } from '../../../support/busybox-image.js';
import { dockerService } from '../../../support/services.js';
import { orchestratorContract } from '../orchestrator-contract.js';

orchestratorContract('docker', async () => {
  const docker = dockerService();
  if (!docker.url) return { skipReason: docker.skipReason ?? 'no Docker API' };
  return {
    orchestrator: createDockerOrchestrator({ dockerHost: docker.url, stopTimeoutSeconds: 1, restartWaitMs: 20_000 }),
    image: BUSYBOX_IMAGE,
  };
});
