// The Docker Engine API calls the adapter builds on: connection from DOCKER_HOST, error classification,
// label queries, and the idempotent "make it exist" steps (network, volume, container).
import Docker from 'dockerode';
import { OrchestratorError, type EnvironmentTarget } from '../../../ports/orchestrator.js';
import { LABEL, environmentLabels, targetName } from '../naming.js';

/** `unix:///run/docker.sock` or `tcp://host:2375` (plain HTTP; `https://host:2376` for TLS from DOCKER_CERT_PATH-less setups). */
export function dockerClient(dockerHost: string, timeoutMs = 60_000): Docker {
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length), timeout: timeoutMs });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 2376 : 2375)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    timeout: timeoutMs,
  });
}

interface EngineError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
  readonly json?: { readonly message?: string } | null;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export const statusOf = (error: unknown): number | undefined => (error as EngineError | undefined)?.statusCode;

const messageOf = (error: unknown): string => {
  const e = error as EngineError | undefined;
  return (e?.json?.message ?? e?.message ?? String(error)).trim();
};

/** Network failures become `unreachable` (the caller retries later); anything else keeps its message. */
export function classify(error: unknown): unknown {
  if (error instanceof OrchestratorError) return error;
  const e = error as EngineError | undefined;
  const text = messageOf(error);
  if ((e?.code && UNREACHABLE_CODES.has(e.code)) || /socket hang up|timeout|connect E/i.test(text) || statusOf(error) === 502) {
    return new OrchestratorError('docker', 'unreachable', `the Docker engine did not answer: ${text}`);
  }
  return error;
}

/** Runs `call`, ignoring the given HTTP statuses (404 gone already, 304 already in that state). */
export async function ignoring<T>(statuses: readonly number[], call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (statuses.includes(statusOf(error) ?? -1)) return undefined;
    throw error;
  }
}

export const labelFilter = (labels: Readonly<Record<string, string>>): string[] =>
  Object.entries(labels).map(([key, value]) => `${key}=${value}`);

export async function containersLabelled(docker: Docker, labels: Readonly<Record<string, string>>): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: labelFilter(labels) } });
}

const belongsTo = (labels: Readonly<Record<string, string>> | undefined, environment: EnvironmentTarget) =>
  labels?.[LABEL.tenant] === environment.tenantId && labels?.[LABEL.environment] === environment.environmentId;

/** The environment's network, created when missing; a network of that name owned by someone else is a conflict. */
export async function ensureNetwork(docker: Docker, environment: EnvironmentTarget): Promise<void> {
  const network = targetName(environment);
  const existing = await ignoring([404], () => docker.getNetwork(network).inspect() as Promise<{ Labels?: Record<string, string> }>);
  if (existing) {
    // Only a network made outside this service can hold the name (it is unique per tenant and target).
    if (!belongsTo(existing.Labels, environment)) {
      throw new OrchestratorError('docker', 'conflict', `network ${network} exists and belongs to another environment`);
    }
    return;
  }
  try {
    await docker.createNetwork({
      Name: network,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: environmentLabels(environment),
    });
  } catch (error) {
    // Created by a concurrent call between the inspect and the create: check it is ours.
    if (statusOf(error) === 409 || /already (exists|used)/i.test(messageOf(error))) return ensureNetwork(docker, environment);
    throw error;
  }
}

export async function removeNetworkOf(docker: Docker, environment: EnvironmentTarget): Promise<void> {
  const network = targetName(environment);
  const existing = await ignoring([404], () => docker.getNetwork(network).inspect() as Promise<{ Labels?: Record<string, string> }>);
  if (existing && belongsTo(existing.Labels, environment)) await ignoring([404], () => docker.getNetwork(network).remove());
}

export async function ensureVolume(docker: Docker, name: string, labels: Readonly<Record<string, string>>): Promise<void> {
  const existing = await ignoring([404], () => docker.getVolume(name).inspect());
  if (existing) return;
  try {
    await docker.createVolume({ Name: name, Labels: { ...labels } });
  } catch (error) {
    if (statusOf(error) !== 409 && !/already exists/i.test(messageOf(error))) throw error;
  }
}

export async function removeVolumesLabelled(
  docker: Docker,
  labels: Readonly<Record<string, string>>,
  keep?: (volume: Docker.VolumeInspectInfo) => boolean,
) {
  const { Volumes } = await docker.listVolumes({ filters: { label: labelFilter(labels) } });
  await Promise.all(
    (Volumes ?? []).filter((volume) => !keep?.(volume)).map((volume) => ignoring([404, 409], () => docker.getVolume(volume.Name).remove())),
  );
}

/** Makes the image present: a missing image is pulled once; one that cannot be had is `invalid`. */
export async function ensureImage(docker: Docker, image: string): Promise<void> {
  if (await ignoring([404], () => docker.getImage(image).inspect())) return;
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
  } catch {
    // Checked below: a failed pull leaves the image missing.
  }
  if (!(await ignoring([404], () => docker.getImage(image).inspect()))) {
    throw new OrchestratorError('docker', 'invalid', `image ${image} is not on the Docker host and could not be pulled`);
  }
}

/** The user to run as when the environment asks for non-root and the image would run as root. */
export async function nonRootUser(docker: Docker, image: string): Promise<string | undefined> {
  const inspected = (await docker.getImage(image).inspect()) as { Config?: { User?: string } };
  const user = inspected.Config?.User ?? '';
  return user === '' || user === 'root' || user === '0' || user.startsWith('0:') || user.startsWith('root:') ? '65534:65534' : undefined;
}

export { messageOf };
