// Pure: the port's instances from pods and their Deployments. Pods of a release are numbered by age (a
// Deployment's pods have no ordinal); a pod whose Deployment gave up (ProgressDeadlineExceeded) and is not
// ready counts as failed; health is the readiness condition when the container has a probe.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ObservedInstance } from '../../../ports/orchestrator.js';
import { LABEL } from '../naming.js';

const WAITING_FAILURES = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

export function instancesOf(pods: readonly V1Pod[], deployments: readonly V1Deployment[]): ObservedInstance[] {
  const stalled = new Set(
    deployments
      .filter((d) =>
        d.status?.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded'),
      )
      .map(
        (d) =>
          `${d.metadata?.namespace}/${d.metadata?.labels?.[LABEL.deployment]}/${d.metadata?.labels?.[LABEL.service]}/${d.metadata?.labels?.[LABEL.release]}`,
      ),
  );
  const groups = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const l = pod.metadata?.labels ?? {};
    if (l[LABEL.service] === undefined || pod.metadata?.deletionTimestamp) continue;
    const key = `${pod.metadata?.namespace}/${l[LABEL.deployment]}/${l[LABEL.service]}/${l[LABEL.release]}`;
    groups.set(key, [...(groups.get(key) ?? []), pod]);
  }
  const instances: ObservedInstance[] = [];
  for (const [key, group] of groups) {
    const ordered = [...group].sort(
      (a, b) =>
        String(a.metadata?.creationTimestamp?.toISOString?.() ?? a.metadata?.creationTimestamp ?? '').localeCompare(
          String(b.metadata?.creationTimestamp?.toISOString?.() ?? b.metadata?.creationTimestamp ?? ''),
        ) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
    ordered.forEach((pod, replica) => {
      const l = pod.metadata?.labels ?? {};
      const container = pod.spec?.containers[0];
      const status = pod.status?.containerStatuses?.[0];
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      const waiting = status?.state?.waiting?.reason;
      let state: ObservedInstance['state'];
      if (pod.status?.phase === 'Failed' || (waiting && WAITING_FAILURES.has(waiting))) state = 'failed';
      else if (pod.status?.phase === 'Succeeded') state = 'stopped';
      else if (pod.status?.phase === 'Running' && status?.state?.running) state = 'running';
      else state = 'starting';
      if (state !== 'running' && state !== 'stopped' && stalled.has(key)) state = 'failed';
      const probed = Boolean(container?.readinessProbe);
      const restarted = (status?.restartCount ?? 0) > 0;
      const health: ObservedInstance['health'] = !probed
        ? 'none'
        : ready
          ? 'healthy'
          : state === 'failed' || (state === 'running' && (restarted || stalled.has(key)))
            ? 'unhealthy'
            : 'starting';
      instances.push({
        id: pod.metadata?.name ?? '',
        deploymentId: l[LABEL.deployment] ?? '',
        service: l[LABEL.service] ?? '',
        release: Number(l[LABEL.release]),
        replica,
        image: container?.image ?? '',
        state,
        health,
        restarts: status?.restartCount ?? 0,
        ...(state === 'failed' ? { detail: waiting ?? status?.state?.terminated?.reason ?? pod.status?.phase ?? 'failed' } : {}),
      });
    });
  }
  return instances.sort(
    (a, b) =>
      a.deploymentId.localeCompare(b.deploymentId) || a.service.localeCompare(b.service) || a.release - b.release || a.replica - b.replica,
  );
}
