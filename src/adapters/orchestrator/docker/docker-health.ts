// Health checks are the container's own (Docker HEALTHCHECK config: the engine runs them and keeps the verdict,
// `Retries` failures in a row make it unhealthy, one success healthy). podman runs them from systemd timers, and
// without systemd (as here) never: on podman the adapter asks it to run the check (libpod's healthcheck
// endpoint, which records the result like a timer would) when it observes, at most once per interval. Running
// the check with `exec` instead would leave one conmon process per probe behind for five minutes.
import type Docker from 'dockerode';
import type { ObservedInstance } from '../../../ports/orchestrator.js';
import { ignoring } from './docker-engine.js';

export type Health = ObservedInstance['health'];

export function healthOfState(info: Docker.ContainerInspectInfo): Health {
  const test = info.Config.Healthcheck?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return 'none';
  if (!info.State.Running) return info.State.Status === 'created' ? 'starting' : 'unhealthy';
  const status = info.State.Health?.Status;
  return status === 'healthy' || status === 'unhealthy' ? status : 'starting';
}

export interface HealthTrigger {
  /** Runs the container's check now when the engine does not, and its last run is older than the interval;
   * true when it ran (the container's inspect is then stale). */
  maybeRun(info: Docker.ContainerInspectInfo): Promise<boolean>;
  forgetExcept(live: ReadonlySet<string>): void;
  forget(containerId: string): void;
}

export function createHealthTrigger(docker: Docker, now: () => number = Date.now): HealthTrigger {
  const lastRun = new Map<string, number>();
  const inFlight = new Map<string, Promise<boolean>>();
  let isPodman: Promise<boolean> | undefined;
  const podman = () =>
    (isPodman ??= docker.version().then(
      (version) => (version.Components ?? []).some((component) => /podman/i.test(component.Name)),
      () => {
        isPodman = undefined;
        return false;
      },
    ));

  const run = (id: string) =>
    ignoring(
      [404, 409, 500],
      () =>
        new Promise<unknown>((resolve, reject) =>
          docker.modem.dial(
            {
              path: `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/healthcheck?`,
              method: 'GET',
              statusCodes: { 200: true, 404: 'no such container', 409: 'not running', 500: 'server error' },
            },
            (error: unknown, data: unknown) => (error ? reject(error) : resolve(data)),
          ),
        ),
    );

  return {
    async maybeRun(info) {
      if (!info.State.Running || healthOfState(info) === 'none' || !(await podman())) return false;
      const intervalMs = (info.Config.Healthcheck?.Interval ?? 30e9) / 1e6;
      const last = lastRun.get(info.Id);
      if (last !== undefined && now() - last < intervalMs) return false;
      const running = inFlight.get(info.Id);
      if (running) return running;
      lastRun.set(info.Id, now());
      const next = run(info.Id).then(() => true);
      inFlight.set(info.Id, next);
      try {
        return await next;
      } finally {
        inFlight.delete(info.Id);
      }
    },
    forgetExcept(live) {
      for (const id of lastRun.keys()) if (!live.has(id)) lastRun.delete(id);
    },
    forget(containerId) {
      lastRun.delete(containerId);
    },
  };
}
