// Builds the orchestrator registry from the configuration. Nothing configured (the embedded default) is a
// registry with no orchestrator: the service runs, and deploying is refused with a 409 naming the setting.
import type { Config } from '../../config.js';
import {
  ORCHESTRATOR_SETTING,
  type Orchestrator,
  type OrchestratorKind,
  type OrchestratorReachability,
  type OrchestratorRegistry,
} from '../../ports/orchestrator.js';

const KINDS: readonly OrchestratorKind[] = ['docker', 'kubernetes'];

export const orchestratorRegistryOf = (orchestrators: readonly Orchestrator[]): OrchestratorRegistry => {
  const byKind = new Map(orchestrators.map((o) => [o.kind, o]));
  return {
    get: (kind) => byKind.get(kind),
    async status() {
      return Promise.all(
        KINDS.map(async (kind): Promise<OrchestratorReachability> => {
          const orchestrator = byKind.get(kind);
          if (!orchestrator) return { kind, configured: false, reachable: false, detail: `set ${ORCHESTRATOR_SETTING[kind]}` };
          return orchestrator.ping();
        }),
      );
    },
    async close() {
      await Promise.all(orchestrators.map((o) => o.close()));
    },
  };
};

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- filled in by the Docker and Kubernetes adapters
export const createOrchestratorRegistry = (config: Config): OrchestratorRegistry => orchestratorRegistryOf([]);
