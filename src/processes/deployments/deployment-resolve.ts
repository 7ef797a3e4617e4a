// What the orchestrator is handed for a step: the deployment's identity and a service of the release with
// its configs and secrets decrypted. Built in the worker just before the call and never stored: no event,
// job payload or log holds the values.
import { releaseOf, type ExistingDeployment, type ServiceSpec } from '../../domain/deployments/index.js';
import type { EnvironmentDirectory } from '../../ports/environment-directory.js';
import type { DeploymentTarget, ResolvedService, ResolvedVolume } from '../../ports/orchestrator.js';

export async function deploymentTargetOf(
  directory: EnvironmentDirectory,
  tenantId: string,
  state: ExistingDeployment,
): Promise<DeploymentTarget> {
  const environment = await directory.environment(tenantId, state.environmentId);
  return {
    tenantId,
    environmentId: state.environmentId,
    target: environment?.target ?? state.target,
    deploymentId: state.deploymentId,
    deploymentName: state.name,
    ...(environment?.security ? { security: environment.security } : {}),
    ...(environment?.networking ? { networking: environment.networking } : {}),
  };
}

/** The spec a service runs under `label`: the release's, or, for a label kept from an earlier release,
 * the live one with the release's replica count (a scale keeps the instances it has). */
export function serviceSpecFor(state: ExistingDeployment, release: number, service: string): ServiceSpec | undefined {
  return releaseOf(state, release)?.services.find((s) => s.name === service) ?? state.live[service]?.spec;
}

export async function resolveService(
  directory: EnvironmentDirectory,
  tenantId: string,
  environmentId: string,
  spec: ServiceSpec,
  label: number,
  replicas: number,
): Promise<ResolvedService> {
  const names = [...new Set([...spec.envFrom, ...spec.volumes.flatMap((v) => (v.source ? [v.source] : []))])];
  const configs = names.length > 0 ? await directory.resolveConfigs(tenantId, environmentId, names) : new Map();
  const missing = names.filter((name) => !configs.has(name));
  // A config deleted since the release was accepted: the step fails (and is retried) rather than running
  // the service without it.
  if (missing.length > 0) throw new Error(`service ${spec.name}: configs ${missing.join(', ')} no longer exist`);
  const env: Record<string, string> = {};
  for (const name of spec.envFrom) Object.assign(env, configs.get(name)!.data);
  Object.assign(env, spec.env);
  const volumes: ResolvedVolume[] = spec.volumes.map((v) => ({
    name: v.name,
    kind: v.kind,
    mountPath: v.mountPath,
    ...(v.source ? { files: { ...configs.get(v.source)!.data } } : {}),
    ...(v.size ? { size: v.size } : {}),
  }));
  const check = spec.healthCheck;
  return {
    name: spec.name,
    type: spec.type,
    image: spec.image,
    replicas,
    release: label,
    ports: spec.ports.map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol,
      ...(p.hostPort !== null ? { hostPort: p.hostPort } : {}),
    })),
    env,
    volumes,
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.resources.cpuMillis !== null || spec.resources.memoryMb !== null
      ? {
          resources: {
            ...(spec.resources.cpuMillis !== null ? { cpuMillis: spec.resources.cpuMillis } : {}),
            ...(spec.resources.memoryMb !== null ? { memoryMb: spec.resources.memoryMb } : {}),
          },
        }
      : {}),
    ...(check
      ? {
          healthCheck: {
            ...(check.http ? { http: check.http } : {}),
            ...(check.command ? { command: check.command } : {}),
            intervalSeconds: check.intervalSeconds,
            timeoutSeconds: check.timeoutSeconds,
            healthyThreshold: check.healthyThreshold,
            unhealthyThreshold: check.unhealthyThreshold,
          },
        }
      : {}),
  };
}
