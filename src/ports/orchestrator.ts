// The orchestrator port: what the deployment reconciler asks of Docker or Kubernetes. Every call is
// idempotent and converges the real world towards what it is given, so a reconciler that crashed after a
// call can make it again. Values are already resolved: configs and secrets are decrypted by the caller just
// before the call and never kept by the adapter.

export type OrchestratorKind = 'docker' | 'kubernetes';

/** Where a deployment runs: the environment's namespace (Kubernetes) or network (Docker). */
export interface EnvironmentTarget {
  readonly tenantId: string;
  readonly environmentId: string;
  /** Kubernetes namespace or Docker network name, as configured on the environment. */
  readonly target: string;
  /** Security settings the adapter applies where it can (service account, network policy, pod security). */
  readonly security?: {
    readonly serviceAccount?: string;
    readonly roles?: readonly string[];
    readonly networkPolicies?: readonly { readonly name: string; readonly from?: readonly string[]; readonly ports?: readonly number[] }[];
    readonly runAsNonRoot?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
  };
  readonly networking?: {
    readonly ingressHost?: string;
    readonly tls?: boolean;
    readonly loadBalancer?: 'none' | 'clusterip' | 'nodeport' | 'loadbalancer';
    readonly dns?: string;
  };
}

/** One deployment's identity in the orchestrator (labels on every container/pod). */
export interface DeploymentTarget extends EnvironmentTarget {
  readonly deploymentId: string;
  readonly deploymentName: string;
}

export interface HealthCheckSpec {
  readonly http?: { readonly path: string; readonly port: number };
  readonly command?: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface ResolvedVolume {
  readonly name: string;
  readonly kind: 'persistent' | 'configmap' | 'secret' | 'emptydir';
  readonly mountPath: string;
  /** configmap/secret: the decrypted files (key → content); absent for persistent and emptydir. */
  readonly files?: Readonly<Record<string, string>>;
  /** persistent: requested size, e.g. `1Gi`. */
  readonly size?: string;
}

/** A service of one release, ready to run: env and volumes hold decrypted values. */
export interface ResolvedService {
  readonly name: string;
  readonly type: 'frontend' | 'backend' | 'database' | 'cache' | 'queue';
  readonly image: string;
  readonly replicas: number;
  readonly release: number;
  readonly ports: readonly { readonly containerPort: number; readonly hostPort?: number; readonly protocol: 'tcp' | 'udp' }[];
  readonly env: Readonly<Record<string, string>>;
  readonly volumes: readonly ResolvedVolume[];
  readonly command?: readonly string[];
  readonly resources?: {
    readonly cpuMillis?: number;
    readonly memoryMb?: number;
  };
  readonly healthCheck?: HealthCheckSpec;
}

/** One running (or not) replica as the orchestrator sees it. */
export interface ObservedInstance {
  /** Container id or pod name. */
  readonly id: string;
  readonly deploymentId: string;
  readonly service: string;
  readonly release: number;
  readonly replica: number;
  readonly image: string;
  readonly state: 'running' | 'starting' | 'stopped' | 'failed';
  /** `none` when the service has no health check. */
  readonly health: 'healthy' | 'unhealthy' | 'starting' | 'none';
  /** How often the orchestrator restarted it after it exited (a crash loop grows it); absent when unknown. */
  readonly restarts?: number;
  /** Why it is `failed` (`exited with code 1`, `OOM-killed`, `CrashLoopBackOff`), for the health gate's reason. */
  readonly detail?: string;
}

export interface OrchestratorReachability {
  readonly kind: OrchestratorKind;
  readonly configured: boolean;
  readonly reachable: boolean;
  /** What to set when it is not configured (`DOCKER_HOST`, `KUBECONFIG`), or why it is unreachable. */
  readonly detail?: string;
}

export interface Orchestrator {
  readonly kind: OrchestratorKind;
  ping(): Promise<OrchestratorReachability>;
  /** Creates the environment's network/namespace (and its security objects) when missing. */
  ensureEnvironment(environment: EnvironmentTarget): Promise<void>;
  /** Removes the environment's network/namespace and everything labelled with it. */
  removeEnvironment(environment: EnvironmentTarget): Promise<void>;
  /** Makes exactly `service.replicas` started instances of (deployment, service, release) exist; instances of
   * other releases are left running (rolling replacement: the caller prunes them once the new ones are healthy). */
  applyService(deployment: DeploymentTarget, service: ResolvedService): Promise<void>;
  /** Removes the service's instances of every release except `keepRelease`. */
  pruneService(deployment: DeploymentTarget, service: string, keepRelease: number): Promise<void>;
  /** Removes every instance of the service (all releases). */
  removeService(deployment: DeploymentTarget, service: string): Promise<void>;
  stopService(deployment: DeploymentTarget, service: string): Promise<void>;
  startService(deployment: DeploymentTarget, service: string): Promise<void>;
  /** Replaces every instance one by one (start new, wait healthy, stop old where the orchestrator can). */
  restartService(deployment: DeploymentTarget, service: string): Promise<void>;
  /** What runs for the deployment (or, without `deploymentId`, the whole environment). */
  observe(scope: {
    readonly tenantId: string;
    readonly environmentId: string;
    readonly deploymentId?: string;
  }): Promise<ObservedInstance[]>;
  /** The last lines of a service's logs (newest last). */
  logs(deployment: DeploymentTarget, service: string, options?: { readonly tail?: number }): Promise<string[]>;
  close(): Promise<void>;
}

/** The orchestrators this service can reach, by kind; a kind that is not configured is absent. */
export interface OrchestratorRegistry {
  get(kind: OrchestratorKind): Orchestrator | undefined;
  /** Every kind, configured or not, with whether it answers now (for `GET /v1/orchestrators`). */
  status(): Promise<OrchestratorReachability[]>;
  close(): Promise<void>;
}

/** The environment variable that configures each kind; named in the 409 for an unconfigured one. */
export const ORCHESTRATOR_SETTING: Readonly<Record<OrchestratorKind, string>> = { docker: 'DOCKER_HOST', kubernetes: 'KUBECONFIG' };

/**
 * Why an orchestrator call failed, so the reconciler knows whether to retry: `unreachable` (the engine or API
 * server did not answer: retry later, the plan resumes), `invalid` (the spec cannot run there, e.g. an image
 * that does not exist: retrying will not help), `conflict` (a network/namespace of that name belongs to another
 * tenant or environment).
 */
export class OrchestratorError extends Error {
  override readonly name = 'OrchestratorError';
  constructor(
    readonly kind: OrchestratorKind,
    readonly reason: 'unreachable' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}
