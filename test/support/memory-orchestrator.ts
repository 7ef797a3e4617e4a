// An orchestrator in memory that keeps the port's promises (idempotent converge calls, release-labelled
// numbered replicas, rolling restarts, observe) with faults to inject: unreachable, images that never
// become healthy, instances killed or added behind the caller's back. For the reconciler's tests, and run
// against the orchestrator contract suite so that it stays honest.
import { randomUUID } from 'node:crypto';
import type {
  DeploymentTarget,
  EnvironmentTarget,
  ObservedInstance,
  Orchestrator,
  OrchestratorReachability,
  OrchestratorRegistry,
  ResolvedService,
} from '../../src/ports/orchestrator.js';
import { orchestratorRegistryOf } from '../../src/adapters/orchestrator/registry.js';

interface Instance {
  id: string;
  tenantId: string;
  environmentId: string;
  deploymentId: string;
  service: string;
  release: number;
  replica: number;
  image: string;
  running: boolean;
  failed: boolean;
  startedAt: number;
  hasHealthCheck: boolean;
  /** What it was given (env and files decrypted): tests check what reached the orchestrator. */
  spec: ResolvedService;
}

export class OrchestratorUnreachableError extends Error {
  override readonly name = 'OrchestratorUnreachableError';
  constructor() {
    super('connect ECONNREFUSED (memory orchestrator made unreachable)');
  }
}

export interface MemoryOrchestrator extends Orchestrator {
  /** Every call fails as a refused connection while on. */
  setUnreachable(on: boolean): void;
  /** Instances of this image never pass their health check. */
  neverHealthy(image: string): void;
  /** Stops an instance as a crash would (exited), without telling anyone. */
  kill(instanceId: string): void;
  /** Removes an instance behind the caller's back. */
  removeBehindBack(instanceId: string): void;
  /** Starts an instance nobody asked for (a stray replica). */
  addStray(deployment: DeploymentTarget, service: string, release: number, replica: number, image: string): string;
  /** Every instance, including stopped ones. */
  instances(): ObservedInstance[];
  /** Instances created so far (a replacement counts). */
  readonly created: () => number;
  /** The last spec applied per (deployment, service): what reached the orchestrator. */
  appliedSpec(deploymentId: string, service: string): ResolvedService | undefined;
  /** Calls by name, in order. */
  readonly calls: string[];
  environments(): string[];
}

export function memoryOrchestrator(options: { healthyAfterMs?: number; kind?: 'docker' | 'kubernetes' } = {}): MemoryOrchestrator {
  const healthyAfterMs = options.healthyAfterMs ?? 30;
  const envs = new Map<string, EnvironmentTarget>();
  const all = new Map<string, Instance>();
  const bad = new Set<string>();
  const applied = new Map<string, ResolvedService>();
  const calls: string[] = [];
  let unreachable = false;
  let created = 0;
  const fingerprint = (spec: ResolvedService) => JSON.stringify({ ...spec, replicas: 0 });
  const envKey = (t: { tenantId: string; environmentId: string }) => `${t.tenantId}/${t.environmentId}`;

  const guard = (call: string) => {
    calls.push(call);
    if (unreachable) throw new OrchestratorUnreachableError();
  };
  const of = (d: DeploymentTarget, service?: string) =>
    [...all.values()].filter(
      (i) => i.tenantId === d.tenantId && i.deploymentId === d.deploymentId && (service === undefined || i.service === service),
    );
  const create = (d: DeploymentTarget, spec: ResolvedService, replica: number): Instance => {
    created++;
    const instance: Instance = {
      id: randomUUID().replaceAll('-', ''),
      tenantId: d.tenantId,
      environmentId: d.environmentId,
      deploymentId: d.deploymentId,
      service: spec.name,
      release: spec.release,
      replica,
      image: spec.image,
      running: true,
      failed: false,
      startedAt: Date.now(),
      hasHealthCheck: spec.healthCheck !== undefined,
      spec,
    };
    all.set(instance.id, instance);
    return instance;
  };
  const health = (i: Instance): ObservedInstance['health'] => {
    if (!i.running) return i.hasHealthCheck ? 'unhealthy' : 'none';
    if (!i.hasHealthCheck) return 'none';
    if (Date.now() - i.startedAt < healthyAfterMs) return 'starting';
    // A health command that cannot pass (`/bin/false`) fails as it would in a real engine.
    const failing = i.spec.healthCheck?.command?.[0] === '/bin/false';
    return bad.has(i.image) || failing ? 'unhealthy' : 'healthy';
  };
  const view = (i: Instance): ObservedInstance => ({
    id: i.id,
    deploymentId: i.deploymentId,
    service: i.service,
    release: i.release,
    replica: i.replica,
    image: i.image,
    state: i.running
      ? Date.now() - i.startedAt < healthyAfterMs && i.hasHealthCheck
        ? 'starting'
        : 'running'
      : i.failed
        ? 'failed'
        : 'stopped',
    health: health(i),
  });
  const requireEnvironment = (t: EnvironmentTarget) => {
    if (!envs.has(envKey(t))) throw new Error(`network ${t.target} not found`);
  };

  const orchestrator: MemoryOrchestrator = {
    kind: options.kind ?? 'docker',
    calls,
    created: () => created,
    setUnreachable: (on) => (unreachable = on),
    neverHealthy: (image) => bad.add(image),
    kill(id) {
      const instance = all.get(id);
      if (instance) Object.assign(instance, { running: false, failed: true });
    },
    removeBehindBack: (id) => void all.delete(id),
    addStray(d, service, release, replica, image) {
      const spec: ResolvedService = { name: service, type: 'backend', image, replicas: 1, release, ports: [], env: {}, volumes: [] };
      return create(d, spec, replica).id;
    },
    instances: () => [...all.values()].map(view),
    appliedSpec: (deploymentId, service) => applied.get(`${deploymentId}/${service}`),
    environments: () => [...envs.values()].map((e) => e.target),
    async ping(): Promise<OrchestratorReachability> {
      calls.push('ping');
      return unreachable
        ? { kind: orchestrator.kind, configured: true, reachable: false, detail: 'connection refused' }
        : { kind: orchestrator.kind, configured: true, reachable: true };
    },
    async ensureEnvironment(t) {
      guard('ensureEnvironment');
      if (!envs.has(envKey(t))) envs.set(envKey(t), t);
    },
    async removeEnvironment(t) {
      guard('removeEnvironment');
      for (const [id, i] of all) if (i.tenantId === t.tenantId && i.environmentId === t.environmentId) all.delete(id);
      envs.delete(envKey(t));
    },
    async applyService(d, spec) {
      guard(`applyService:${spec.name}:${spec.release}`);
      requireEnvironment(d);
      applied.set(`${d.deploymentId}/${spec.name}`, spec);
      const mine = of(d, spec.name).filter((i) => i.release === spec.release);
      for (const i of mine) {
        // A replica beyond the count, or one made from another spec (image, env, config files…), goes.
        if (i.replica >= spec.replicas || fingerprint(i.spec) !== fingerprint(spec)) all.delete(i.id);
      }
      for (let replica = 0; replica < spec.replicas; replica++) {
        const existing = of(d, spec.name).find((i) => i.release === spec.release && i.replica === replica);
        if (!existing) create(d, spec, replica);
        else if (!existing.running) Object.assign(existing, { running: true, failed: false, startedAt: Date.now() });
      }
    },
    async pruneService(d, service, keep) {
      guard(`pruneService:${service}:${keep}`);
      for (const i of of(d, service)) if (i.release !== keep) all.delete(i.id);
    },
    async removeService(d, service) {
      guard(`removeService:${service}`);
      for (const i of of(d, service)) all.delete(i.id);
    },
    async stopService(d, service) {
      guard(`stopService:${service}`);
      for (const i of of(d, service)) Object.assign(i, { running: false, failed: false });
    },
    async startService(d, service) {
      guard(`startService:${service}`);
      for (const i of of(d, service)) if (!i.running) Object.assign(i, { running: true, failed: false, startedAt: Date.now() });
    },
    async restartService(d, service) {
      guard(`restartService:${service}`);
      for (const old of of(d, service)) {
        all.delete(old.id);
        create(d, old.spec, old.replica);
      }
      // (The replacements keep the spec they were made from: new config values come with applyService.)
    },
    async observe(scope) {
      guard('observe');
      return [...all.values()]
        .filter(
          (i) =>
            i.tenantId === scope.tenantId &&
            i.environmentId === scope.environmentId &&
            (scope.deploymentId === undefined || i.deploymentId === scope.deploymentId),
        )
        .sort((a, b) => a.service.localeCompare(b.service) || a.release - b.release || a.replica - b.replica)
        .map(view);
    },
    async logs(d, service, logOptions) {
      guard('logs');
      const lines = of(d, service).map((i) => `${i.id} ${i.image} replica ${i.replica} ${i.running ? 'running' : 'exited'}`);
      return lines.slice(-(logOptions?.tail ?? 100));
    },
    async close() {},
  };
  return orchestrator;
}

export const memoryRegistry = (...orchestrators: Orchestrator[]): OrchestratorRegistry => orchestratorRegistryOf(orchestrators);
