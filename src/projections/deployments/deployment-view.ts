// A deployment as the API shows it, from its folded state: the same view from the read model's row and
// from a fold of the stream up to a moment (`?asOf=`).
import { releaseOf, statusOf, type ExistingDeployment, type ReleaseRecord } from '../../domain/deployments/index.js';
import type { JsonObject } from '../../domain/json.js';

export interface DeploymentMeta {
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly updatedBy: string;
}

const releaseSummary = (r: ReleaseRecord | undefined) =>
  r
    ? {
        release: r.release,
        version: r.version,
        kind: r.kind,
        automatic: r.automatic,
        rollbackTo: r.rollbackTo,
        outcome: r.outcome,
        reason: r.reason,
        failure: r.failure,
      }
    : null;

export function deploymentView(state: ExistingDeployment, meta: DeploymentMeta): JsonObject {
  const current = releaseOf(state, state.desired);
  const previous = state.releases.filter((r) => r.release < state.desired).at(-1);
  const replicas = new Map(state.replicas.map((r) => [r.service, r]));
  return {
    deploymentId: state.deploymentId,
    name: state.name,
    applicationId: state.applicationId,
    environmentId: state.environmentId,
    orchestrator: state.orchestrator,
    version: current?.version ?? '',
    status: statusOf(state),
    policy: state.policy,
    currentRelease: releaseSummary(current),
    previousRelease: releaseSummary(previous),
    liveRelease: state.liveRelease,
    services: (current?.services ?? []).map((spec) => {
      const observed = replicas.get(spec.name);
      const conditions = [
        ...(state.drift ?? [])
          .filter((f) => f.service === spec.name)
          .map((f) => ({ type: `drift.${f.kind}`, status: 'true', message: `expected ${f.expected}, observed ${f.observed}` })),
        ...(observed && observed.ready < observed.desired
          ? [{ type: 'ready', status: 'false', message: `${observed.ready}/${observed.desired} ready` }]
          : []),
      ];
      return {
        name: spec.name,
        type: spec.type,
        image: spec.image,
        replicas: { desired: spec.replicas, ready: observed?.ready ?? 0, available: observed?.available ?? 0 },
        conditions,
      };
    }),
    rollout: state.rollout
      ? {
          rolloutId: state.rollout.rolloutId,
          operation: state.rollout.operation,
          release: state.rollout.release,
          stepsDone: state.rollout.done.length,
          steps: state.rollout.steps.length,
          startedAt: state.rollout.startedAt,
          deadlineAt: state.rollout.deadlineAt,
        }
      : null,
    lastRollout: state.lastRollout,
    drift: state.drift,
    ...meta,
  } as unknown as JsonObject;
}
