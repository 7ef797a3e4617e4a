// The Docker adapter of the orchestrator port (dockerode; Docker Engine or podman's Docker-compatible API).
// One network per environment; one container per replica, named deterministically and labelled with tenant,
// environment, deployment, service, release and replica; configmap/secret files in a volume per release.
import type Docker from 'dockerode';
import {
  OrchestratorError,
  type DeploymentTarget,
  type EnvironmentTarget,
  type ObservedInstance,
  type Orchestrator,
  type OrchestratorReachability,
  type ResolvedService,
} from '../../../ports/orchestrator.js';
import { LABEL, environmentLabels, serviceLabels } from '../naming.js';
import { replicaSpec, volumeName } from './container-spec.js';
import {
  classify,
  containersLabelled,
  dockerClient,
  ensureImage,
  ensureNetwork,
  ensureVolume,
  ignoring,
  messageOf,
  nonRootUser,
  removeNetworkOf,
  removeVolumesLabelled,
  statusOf,
} from './docker-engine.js';
import { createHealthTrigger, healthOfState, type Health } from './docker-health.js';
import { demultiplex, tarOf } from './wire.js';

export interface DockerOrchestratorOptions {
  /** `unix:///path/docker.sock` or `tcp://host:port`. */
  readonly dockerHost: string;
  /** Seconds a container gets to stop before it is killed. */
  readonly stopTimeoutSeconds?: number;
  /** Upper bound of the wait for one replica to be healthy during a rolling restart. */
  readonly restartWaitMs?: number;
}

const STOP_EXIT_CODES = new Set([0, 137, 143]);

/** Looks for a container another call is creating under the same name (50, 100, … ms apart). */
const CONCURRENT_CREATE_LOOKS = 8;

export function createDockerOrchestrator(options: DockerOrchestratorOptions): Orchestrator {
  const docker = dockerClient(options.dockerHost);
  const stopSeconds = options.stopTimeoutSeconds ?? 5;
  const health = createHealthTrigger(docker);

  const guarded =
    <Args extends unknown[], R>(call: (...args: Args) => Promise<R>) =>
    async (...args: Args): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        throw classify(error);
      }
    };

  const serviceContainers = (deployment: DeploymentTarget, service: string) =>
    containersLabelled(docker, serviceLabels(deployment, service));

  async function removeContainer(id: string): Promise<void> {
    health.forget(id);
    // podman answers 500 ("device or resource busy", "could not be stopped") while a container's mounts or exit are
    // still being released under load: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await ignoring([404, 409], () => docker.getContainer(id).remove({ force: true, v: true }));
        return;
      } catch (error) {
        if (attempt >= 5 || !/busy|could not be stopped/i.test(messageOf(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /**
   * The container a concurrent call is creating under `name`: podman answers 409 as soon as the name is taken,
   * before the container can be found by it (and frees the name again if that creation fails). Looks a few
   * times; undefined when the name is free again.
   */
  async function createdElsewhere(name: string): Promise<Docker.Container | undefined> {
    for (let attempt = 1; attempt <= CONCURRENT_CREATE_LOOKS; attempt++) {
      const found = await ignoring([404], () => docker.getContainer(name).inspect());
      if (found) return docker.getContainer(found.Id);
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
    return undefined;
  }

  async function createReplica(
    deployment: DeploymentTarget,
    service: ResolvedService,
    replica: number,
    user: string | undefined,
    tries = 3,
  ): Promise<Docker.Container> {
    const { name, options: create } = replicaSpec(deployment, deployment, service, replica, user);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(create);
    } catch (error) {
      if (!(statusOf(error) === 409 || /already in use/i.test(messageOf(error)))) throw error;
      // A concurrent call created it first: same name, same spec (its own call puts the files in place).
      const theirs = await createdElsewhere(name);
      if (theirs) return theirs;
      if (tries <= 1) throw error;
      return createReplica(deployment, service, replica, user, tries - 1);
    }
    for (const volume of service.volumes) {
      if ((volume.kind === 'configmap' || volume.kind === 'secret') && volume.files) {
        // Readable by the user the container runs as (non-root when the environment asks), by no one else for secrets.
        const [uid, gid] = (user ?? '0:0').split(':').map(Number);
        const tar = tarOf(volume.files, { mode: volume.kind === 'secret' ? 0o600 : 0o644, uid: uid ?? 0, gid: gid ?? uid ?? 0 });
        await container.putArchive(tar, { path: volume.mountPath });
      }
    }
    return container;
  }

  async function applyService(deployment: DeploymentTarget, service: ResolvedService): Promise<void> {
    if (!Number.isInteger(service.replicas) || service.replicas < 0) {
      throw new OrchestratorError('docker', 'invalid', `replicas must be a whole number ≥ 0, got ${service.replicas}`);
    }
    const bindsHostPorts = service.ports.some((p) => p.hostPort !== undefined);
    if (bindsHostPorts && service.replicas > 1) {
      throw new OrchestratorError('docker', 'invalid', `service ${service.name}: a host port can be bound by one replica only`);
    }
    await ensureNetwork(docker, deployment);
    const existing = await serviceContainers(deployment, service.name);
    // A host port cannot be held by two releases at once: replace instead of rolling.
    if (bindsHostPorts) {
      await Promise.all(existing.filter((c) => c.Labels[LABEL.release] !== String(service.release)).map((c) => removeContainer(c.Id)));
    }
    const ofRelease = existing.filter((c) => c.Labels[LABEL.release] === String(service.release));
    await Promise.all(
      ofRelease.filter((c) => Number(c.Labels[LABEL.replica]) >= service.replicas).map((container) => removeContainer(container.Id)),
    );
    if (service.replicas === 0) return;
    await ensureImage(docker, service.image);
    const user = deployment.security?.runAsNonRoot ? await nonRootUser(docker, service.image) : undefined;
    for (const volume of service.volumes) {
      if (volume.kind === 'emptydir') continue;
      const labels = {
        ...serviceLabels(deployment, service.name),
        ...(volume.kind === 'persistent' ? {} : { [LABEL.release]: String(service.release) }),
      };
      await ensureVolume(docker, volumeName(deployment, service.name, volume, service.release), labels);
    }
    const { options: reference } = replicaSpec(deployment, deployment, service, 0, user);
    const fingerprint = reference.Labels?.[LABEL.spec];
    await Promise.all(
      Array.from({ length: service.replicas }, async (_, replica) => {
        const current = ofRelease.find((c) => c.Labels[LABEL.replica] === String(replica));
        if (current && current.Labels[LABEL.spec] !== fingerprint) await removeContainer(current.Id);
        const container =
          current && current.Labels[LABEL.spec] === fingerprint
            ? docker.getContainer(current.Id)
            : await createReplica(deployment, service, replica, user);
        if (current?.State !== 'running' || current.Labels[LABEL.spec] !== fingerprint) {
          await ignoring([304], () => container.start());
        }
      }),
    );
  }

  async function healthOf(info: Docker.ContainerInspectInfo): Promise<Health> {
    if (!(await health.maybeRun(info))) return healthOfState(info);
    const fresh = await ignoring([404], () => docker.getContainer(info.Id).inspect());
    return fresh ? healthOfState(fresh) : healthOfState(info);
  }

  const stateOf = (info: Docker.ContainerInspectInfo): ObservedInstance['state'] => {
    const state = info.State;
    if (state.Running && !state.Restarting) return 'running';
    if (state.Restarting || state.Dead || state.OOMKilled) return 'failed';
    if (state.Status === 'created') return 'starting';
    return STOP_EXIT_CODES.has(state.ExitCode) ? 'stopped' : 'failed';
  };

  const failureOf = (info: Docker.ContainerInspectInfo): string | undefined => {
    const state = info.State;
    if (state.OOMKilled) return 'OOM-killed';
    if (state.Restarting) return `restarting after exiting with code ${state.ExitCode}`;
    if (stateOf(info) === 'failed') return state.Dead ? 'dead' : `exited with code ${state.ExitCode}`;
    return undefined;
  };

  async function observe(scope: { tenantId: string; environmentId: string; deploymentId?: string }): Promise<ObservedInstance[]> {
    const labels = {
      [LABEL.tenant]: scope.tenantId,
      [LABEL.environment]: scope.environmentId,
      ...(scope.deploymentId ? { [LABEL.deployment]: scope.deploymentId } : {}),
    };
    const listed = (await containersLabelled(docker, labels)).filter((c) => c.Labels[LABEL.service] !== undefined);
    const inspected = (await Promise.all(listed.map((c) => ignoring([404], () => docker.getContainer(c.Id).inspect())))).filter(
      (info): info is Docker.ContainerInspectInfo => info !== undefined,
    );
    health.forgetExcept(new Set(inspected.map((info) => info.Id)));
    const instances = await Promise.all(
      inspected.map(async (info): Promise<ObservedInstance> => {
        const l = info.Config.Labels ?? {};
        return {
          id: info.Id,
          deploymentId: l[LABEL.deployment] ?? '',
          service: l[LABEL.service] ?? '',
          release: Number(l[LABEL.release]),
          replica: Number(l[LABEL.replica]),
          image: info.Config.Image,
          state: stateOf(info),
          health: await healthOf(info),
          restarts: info.RestartCount ?? 0,
          ...(failureOf(info) ? { detail: failureOf(info) } : {}),
        };
      }),
    );
    return instances.sort(
      (a, b) =>
        a.deploymentId.localeCompare(b.deploymentId) ||
        a.service.localeCompare(b.service) ||
        a.release - b.release ||
        a.replica - b.replica,
    );
  }

  async function waitReady(id: string, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const info = await ignoring([404], () => docker.getContainer(id).inspect());
      if (!info) return;
      const now = await healthOf(info);
      if (info.State.Running && (now === 'healthy' || now === 'none')) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  return {
    kind: 'docker',
    async ping(): Promise<OrchestratorReachability> {
      try {
        await docker.ping();
      } catch (error) {
        // The error's code, not its message: a tenant reading GET /v1/orchestrators is not told internal addresses.
        const code = (error as { code?: string; statusCode?: number }).code ?? (error as { statusCode?: number }).statusCode ?? 'error';
        return { kind: 'docker', configured: true, reachable: false, detail: `the Docker engine at DOCKER_HOST does not answer (${code})` };
      }
      // The version is detail only (podman's takes a while under load: it asks runc and conmon for theirs).
      const version = await Promise.race([
        docker.version().catch(() => undefined),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref()),
      ]);
      const engine = version
        ? `${version.Components?.[0]?.Name ?? 'Docker Engine'} ${version.Version}, API ${version.ApiVersion}`
        : 'Docker Engine API';
      return { kind: 'docker', configured: true, reachable: true, detail: engine };
    },
    ensureEnvironment: guarded(async (environment: EnvironmentTarget) => ensureNetwork(docker, environment)),
    removeEnvironment: guarded(async (environment: EnvironmentTarget) => {
      const labels = environmentLabels(environment);
      await Promise.all((await containersLabelled(docker, labels)).map((c) => removeContainer(c.Id)));
      await removeVolumesLabelled(docker, labels);
      await removeNetworkOf(docker, environment);
    }),
    applyService: guarded(applyService),
    pruneService: guarded(async (deployment: DeploymentTarget, service: string, keepRelease: number) => {
      const others = (await serviceContainers(deployment, service)).filter((c) => c.Labels[LABEL.release] !== String(keepRelease));
      await Promise.all(others.map((c) => removeContainer(c.Id)));
      await removeVolumesLabelled(docker, serviceLabels(deployment, service), (v) => {
        const release = v.Labels?.[LABEL.release];
        return release === undefined || release === String(keepRelease);
      });
    }),
    removeService: guarded(async (deployment: DeploymentTarget, service: string) => {
      await Promise.all((await serviceContainers(deployment, service)).map((c) => removeContainer(c.Id)));
      await removeVolumesLabelled(docker, serviceLabels(deployment, service));
    }),
    stopService: guarded(async (deployment: DeploymentTarget, service: string) => {
      const containers = await serviceContainers(deployment, service);
      await Promise.all(containers.map((c) => ignoring([304, 404], () => docker.getContainer(c.Id).stop({ t: stopSeconds }))));
    }),
    startService: guarded(async (deployment: DeploymentTarget, service: string) => {
      const containers = await serviceContainers(deployment, service);
      await Promise.all(containers.map((c) => ignoring([304], () => docker.getContainer(c.Id).start())));
    }),
    restartService: guarded(async (deployment: DeploymentTarget, service: string) => {
      const containers = (await serviceContainers(deployment, service)).sort(
        (a, b) => Number(a.Labels[LABEL.replica]) - Number(b.Labels[LABEL.replica]),
      );
      // One replica at a time, each back (and healthy, when it has a check) before the next goes down.
      for (const container of containers) {
        health.forget(container.Id);
        await ignoring([404], () => docker.getContainer(container.Id).restart({ t: stopSeconds }));
        await waitReady(container.Id, Date.now() + (options.restartWaitMs ?? 60_000));
      }
    }),
    observe: guarded(observe),
    logs: guarded(async (deployment: DeploymentTarget, service: string, logOptions?: { tail?: number }) => {
      const tail = Math.max(1, Math.min(logOptions?.tail ?? 100, 10_000));
      const containers = await serviceContainers(deployment, service);
      const lines = await Promise.all(
        containers.map(async (c) => {
          const raw = await ignoring([404], () =>
            docker.getContainer(c.Id).logs({ stdout: true, stderr: true, timestamps: true, tail, follow: false }),
          );
          const prefix = `r${c.Labels[LABEL.release]}-${c.Labels[LABEL.replica]}`;
          return demultiplex(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw ?? '')))
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => {
              const space = line.indexOf(' ');
              return { at: line.slice(0, space), text: `[${prefix}] ${line.slice(space + 1)}` };
            });
        }),
      );
      return lines
        .flat()
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
        .slice(-tail)
        .map((line) => line.text);
    }),
    async close() {},
  };
}
