// What the deployments feature needs to know about environments and configs, which another feature owns.
// The environments feature implements it from its event streams (not its read models: a deployment
// command must see the environment it was just told about); deployments only consume it.
import type { OrchestratorKind } from './orchestrator.js';

export type EnvironmentType = 'development' | 'staging' | 'production' | 'testing';

export interface EnvironmentView {
  readonly tenantId: string;
  readonly environmentId: string;
  readonly name: string;
  readonly type: EnvironmentType;
  readonly orchestrator: OrchestratorKind;
  /** Kubernetes namespace or Docker network. */
  readonly target: string;
  readonly status: 'creating' | 'active' | 'updating' | 'deleting' | 'deleted' | 'failed';
  readonly quotas: {
    /** Most replicas one service may ask for. */
    readonly maxReplicasPerService?: number;
    /** Most replicas all deployments of the environment together may ask for. */
    readonly maxTotalReplicas?: number;
    readonly cpuMillis?: number;
    readonly memoryMb?: number;
  };
  readonly security?: import('./orchestrator.js').EnvironmentTarget['security'];
  readonly networking?: import('./orchestrator.js').EnvironmentTarget['networking'];
}

export interface ResolvedConfig {
  readonly configId: string;
  readonly name: string;
  readonly type: 'configmap' | 'secret' | 'environment';
  readonly version: number;
  /** Decrypted values: hand them to the orchestrator and drop them. */
  readonly data: Readonly<Record<string, string>>;
}

export interface EnvironmentDirectory {
  /** Undefined when the environment does not exist, is deleted, or belongs to another tenant. */
  environment(tenantId: string, environmentId: string): Promise<EnvironmentView | undefined>;
  /** Which of `names` exist in the environment (or tenant-wide), with their type and current version; no values. */
  configRefs(tenantId: string, environmentId: string, names: readonly string[]): Promise<Map<string, Omit<ResolvedConfig, 'data'>>>;
  /** The named configs' current values, decrypted. Missing names are absent from the map. */
  resolveConfigs(tenantId: string, environmentId: string, names: readonly string[]): Promise<Map<string, ResolvedConfig>>;
}
