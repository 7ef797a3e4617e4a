// The throwaway services of test runs: several runs share the machine (and podman's network directory), so
// stopping one run must leave another run's resources alone.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { startDocker } from './local-services.js';
import { dockerService } from './services.js';

const docker = dockerService();

describe.skipIf(!docker.url)('podman for a run', () => {
  it('stopping one run leaves a network of another run that is still going', async () => {
    const [going, ending] = await Promise.all([startDocker(), startDocker()]);
    if (!('url' in going) || !('url' in ending)) throw new Error('podman started for the run but not twice more');
    const client = new Docker({ socketPath: going.url.slice('unix://'.length) });
    const name = `kyo-run-${randomUUID().slice(0, 8)}`;
    try {
      await client.createNetwork({ Name: name, Driver: 'bridge' });
      await ending.stop();
      expect((await client.getNetwork(name).inspect()) as { Name: string }).toMatchObject({ Name: name });
    } finally {
      await client
        .getNetwork(name)
        .remove()
        .catch(() => {});
      await going.stop();
    }
  });
});
