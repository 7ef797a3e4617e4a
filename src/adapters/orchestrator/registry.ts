// Builds the orchestrator registry from the configuration. Nothing configured (the embedded default) is a
// registry with no orchestrator: the service runs, and deploying is refused with a 409 naming the setting.
import {
  ORCHESTRATOR_SETTING,
  type Orchestrator,
  type OrchestratorKind,
  type OrchestratorReachability,
  type OrchestratorRegistry,
} from '../../ports/orchestrator.js';

const KINDS: readonly OrchestratorKind[] = ['docker', 'kubernetes'];

/** A ping that does not answer within this is reported as unreachable (GET /v1/orchestrators stays fast). */
const PING_TIMEOUT_MS = 3000;

async function pingWithin(orchestrator: Orchestrator, ms: number): Promise<OrchestratorReachability> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<OrchestratorReachability>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: orchestrator.kind, configured: true, reachable: false, detail: `no answer within ${ms} ms` }),
      ms,
    );
  });
  try {
    return await Promise.race([
      orchestrator.ping().catch((error: unknown): OrchestratorReachability => ({
        kind: orchestrator.kind,
        configured: true,
        reachable: false,
        detail: error instanceof Error ? error.message : String(error),
      })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const orchestratorRegistryOf = (orchestrators: readonly Orchestrator[]): OrchestratorRegistry => {
  const byKind = new Map(orchestrators.map((o) => [o.kind, o]));
  return {
    get: (kind) => byKind.get(kind),
    async status() {
      return Promise.all(
        KINDS.map(async (kind): Promise<OrchestratorReachability> => {
          const orchestrator = byKind.get(kind);
          if (!orchestrator) return { kind, configured: false, reachable: false, detail: `set ${ORCHESTRATOR_SETTING[kind]}` };
          return pingWithin(orchestrator, PING_TIMEOUT_MS);
        }),
      );
    },
    async close() {
      await Promise.all(orchestrators.map((o) => o.close()));
    },
  };
};

/** The adapters whose setting is present: DOCKER_HOST for Docker, KUBECONFIG for Kubernetes. Each client
 * library is loaded only when configured (loading them cost the embedded default's start a second). */
export const createOrchestratorRegistry = async (config: {
  readonly DOCKER_HOST?: string;
  readonly KUBECONFIG?: string;
}): Promise<OrchestratorRegistry> =>
  orchestratorRegistryOf([
    ...(config.DOCKER_HOST
      ? [(await import('./docker/docker-orchestrator.js')).createDockerOrchestrator({ dockerHost: config.DOCKER_HOST })]
      : []),
    ...(config.KUBECONFIG
      ? [(await import('./kubernetes/kubernetes-orchestrator.js')).createKubernetesOrchestrator({ kubeconfig: config.KUBECONFIG })]
      : []),
  ]);
