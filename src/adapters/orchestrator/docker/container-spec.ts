// Pure: what Docker is asked to create for one replica of a service, and the names of what it creates.
import type Docker from 'dockerode';
import type { DeploymentTarget, EnvironmentTarget, HealthCheckSpec, ResolvedService, ResolvedVolume } from '../../../ports/orchestrator.js';
import { LABEL, deploymentKey, serviceLabels, slug, specFingerprint, targetName } from '../naming.js';

const SECOND_NS = 1_000_000_000;

/** Docker names: letters, digits, `_.-`; deterministic so that a repeated call finds what the first created. */
export const containerName = (deployment: DeploymentTarget, service: string, release: number, replica: number): string =>
  `kyo-${deploymentKey(deployment)}-${slug(deployment.deploymentName)}-${slug(service)}-r${release}-${replica}`;

/** configmap/secret files live in a volume per release (new content, new volume); persistent per service. */
export const volumeName = (deployment: DeploymentTarget, service: string, volume: ResolvedVolume, release: number): string =>
  volume.kind === 'persistent'
    ? `kyo-${deploymentKey(deployment)}-${slug(service)}-${slug(volume.name, 40)}`
    : `kyo-${deploymentKey(deployment)}-${slug(service)}-r${release}-${slug(volume.name, 40)}`;

/** The DNS name replicas answer to inside the environment's network. */
export const serviceAlias = (deployment: DeploymentTarget, service: string): string =>
  `${slug(deployment.deploymentName, 30)}-${slug(service, 30)}`;

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The command the health check runs inside the container (wget from busybox/alpine, else curl). No `wget -T`:
 * busybox's static build crashes on it; the check's timeout is enforced by whoever runs it. */
export const healthTest = (check: HealthCheckSpec): string[] => {
  // podman 4.3's compatibility API joins a CMD array and splits it again on blanks (`["/bin/sh","-c","exit 1"]`
  // runs `sh -c exit` with `1` as $0: always healthy). An argument holding a blank therefore goes as CMD-SHELL,
  // each argument quoted, which both engines run as given (it needs /bin/sh in the image, as such a command does).
  if (check.command)
    return check.command.some((part) => /\s/.test(part))
      ? ['CMD-SHELL', check.command.map(shellQuote).join(' ')]
      : ['CMD', ...check.command];
  if (!check.http) return ['NONE'];
  const url = shellQuote(`http://127.0.0.1:${check.http.port}${check.http.path.startsWith('/') ? '' : '/'}${check.http.path}`);
  const t = Math.max(1, Math.ceil(check.timeoutSeconds));
  return ['CMD-SHELL', `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null -m ${t} ${url}`];
};

export interface ReplicaSpec {
  readonly name: string;
  readonly options: Docker.ContainerCreateOptions;
}

export function replicaSpec(
  environment: EnvironmentTarget,
  deployment: DeploymentTarget,
  service: ResolvedService,
  replica: number,
  runAsUser?: string,
): ReplicaSpec {
  const name = containerName(deployment, service.name, service.release, replica);
  const security = environment.security ?? {};
  const check = service.healthCheck;
  const portKey = (p: ResolvedService['ports'][number]) => `${p.containerPort}/${p.protocol}`;
  const options: Docker.ContainerCreateOptions = {
    name,
    Image: service.image,
    Env: Object.entries(service.env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...serviceLabels(deployment, service.name),
      [LABEL.release]: String(service.release),
      [LABEL.replica]: String(replica),
      [LABEL.spec]: specFingerprint(service),
    },
    ExposedPorts: Object.fromEntries(service.ports.map((p) => [portKey(p), {}])),
    ...(service.command && service.command.length > 0 ? { Cmd: [...service.command] } : {}),
    ...(runAsUser ? { User: runAsUser } : {}),
    ...(check
      ? {
          Healthcheck: {
            Test: healthTest(check),
            Interval: Math.round(check.intervalSeconds * SECOND_NS),
            Timeout: Math.round(check.timeoutSeconds * SECOND_NS),
            Retries: check.unhealthyThreshold,
            StartPeriod: 0,
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: targetName(environment),
      RestartPolicy: { Name: 'unless-stopped' },
      PortBindings: Object.fromEntries(
        service.ports.filter((p) => p.hostPort !== undefined).map((p) => [portKey(p), [{ HostPort: String(p.hostPort) }]]),
      ),
      ...(service.resources?.memoryMb ? { Memory: service.resources.memoryMb * 1024 * 1024 } : {}),
      ...(service.resources?.cpuMillis ? { NanoCpus: service.resources.cpuMillis * 1_000_000 } : {}),
      ...(security.readOnlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
      ...(security.allowPrivilegeEscalation === false ? { SecurityOpt: ['no-new-privileges'] } : {}),
      Mounts: service.volumes.map((volume) =>
        volume.kind === 'emptydir'
          ? { Type: 'volume' as const, Source: '', Target: volume.mountPath }
          : {
              Type: 'volume' as const,
              Source: volumeName(deployment, service.name, volume, service.release),
              Target: volume.mountPath,
            },
      ),
    },
    NetworkingConfig: { EndpointsConfig: { [targetName(environment)]: { Aliases: [serviceAlias(deployment, service.name)] } } },
  };
  return { name, options };
}
