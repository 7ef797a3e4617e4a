// The deployment's state as its events fold it, and the status users see, derived from it.
import type { DeploymentEvent, DeploymentPolicy, DriftFinding, ReleaseKind, ServiceReplicas } from './deployment-events.js';
import { labelsFor, type LiveService, type PlanStep, type RolloutOperation } from './deployment-plan.js';
import type { ServiceSpec } from './deployment-spec.js';

export const DEPLOYMENT_STATUSES = ['deploying', 'running', 'degraded', 'stopped', 'failed', 'rolled_back', 'deleted'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export type ReleaseRecord = {
  release: number;
  version: string;
  kind: ReleaseKind;
  services: ServiceSpec[];
  rollbackTo: number | null;
  automatic: boolean;
  reason: string;
  changes: string[];
  outcome: 'pending' | 'succeeded' | 'failed' | 'superseded';
  failure: string | null;
};

export type Rollout = {
  rolloutId: string;
  release: number;
  operation: RolloutOperation;
  steps: PlanStep[];
  done: number[];
  startedAt: string;
  deadlineAt: string;
};

export type ExistingDeployment = {
  status: 'exists';
  deploymentId: string;
  name: string;
  applicationId: string;
  environmentId: string;
  environmentType: string;
  orchestrator: 'docker' | 'kubernetes';
  target: string;
  policy: DeploymentPolicy;
  releases: ReleaseRecord[];
  /** The release the deployment should run (the newest). */
  desired: number;
  /** The last release that went live, and its services with their instance labels. */
  liveRelease: number | null;
  live: Record<string, LiveService>;
  /** Services that may have instances besides the live ones (a rollout that did not finish). */
  mayExist: string[];
  rollout: Rollout | null;
  lastRollout: { operation: RolloutOperation; outcome: 'succeeded' | 'failed'; reason: string | null } | null;
  /** The last rollout that succeeded: the periodic drift check follows it. */
  lastSucceededRollout: string | null;
  stopped: boolean;
  deleted: boolean;
  drift: DriftFinding[] | null;
  replicas: ServiceReplicas[];
};

export type DeploymentState = { status: 'absent' } | ExistingDeployment;

export const releaseOf = (state: ExistingDeployment, release: number): ReleaseRecord | undefined => state.releases[release - 1];

/** The status follows what the orchestrator was last seen doing: `deploying` while any rollout runs (a stop
 * too: its instances run until the reconciler has stopped them), `stopped` once it has, and `rolled_back` only
 * as long as the rollback's own rollout is the last one (a later stop/start or restart that went well is
 * `running`). */
export function statusOf(state: ExistingDeployment): DeploymentStatus {
  if (state.deleted) return 'deleted';
  if (state.rollout) return 'deploying';
  if (state.stopped) return 'stopped';
  if (state.lastRollout?.outcome === 'failed') return 'failed';
  if (state.drift) return 'degraded';
  const rolledBack = releaseOf(state, state.desired)?.kind === 'rollback' && state.lastRollout?.operation === 'release';
  return rolledBack ? 'rolled_back' : 'running';
}

/** The replicas a step's outcome observed (the health gate, a stop), if it carries them. */
const observedIn = (outcome: { services?: unknown }): ServiceReplicas[] | undefined =>
  Array.isArray(outcome.services) ? (outcome.services as ServiceReplicas[]) : undefined;

function setOutcome(releases: ReleaseRecord[], release: number, outcome: ReleaseRecord['outcome'], failure: string | null = null) {
  return releases.map((r) => (r.release === release ? { ...r, outcome, failure } : r));
}

export function evolveDeployment(state: DeploymentState, event: DeploymentEvent): DeploymentState {
  if (event.type === 'DeploymentCreated') {
    const { environmentId, environmentType, orchestrator, target, policy, deploymentId, name, applicationId } = event.data;
    return {
      status: 'exists',
      deploymentId,
      name,
      applicationId,
      environmentId,
      environmentType,
      orchestrator,
      target,
      policy,
      releases: [],
      desired: 0,
      liveRelease: null,
      live: {},
      mayExist: [],
      rollout: null,
      lastRollout: null,
      lastSucceededRollout: null,
      stopped: false,
      deleted: false,
      drift: null,
      replicas: [],
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'ReleaseCreated': {
      const releases = state.releases.map((r) => (r.outcome === 'pending' ? { ...r, outcome: 'superseded' as const } : r));
      return { ...state, desired: event.data.release, releases: [...releases, { ...event.data, outcome: 'pending', failure: null }] };
    }
    case 'DeploymentStopped':
      return { ...state, stopped: true };
    case 'DeploymentStarted':
      return { ...state, stopped: false };
    case 'DeploymentDeleted':
      return { ...state, deleted: true };
    case 'RolloutPlanned': {
      const applied = event.data.steps.flatMap((step) => (step.kind === 'apply' ? [step.service] : []));
      const rollout = { ...event.data, done: [] };
      return { ...state, rollout, mayExist: [...new Set([...state.mayExist, ...applied])].sort() };
    }
    case 'RolloutStepCompleted': {
      if (state.rollout?.rolloutId !== event.data.rolloutId) return state;
      // The health gate and each stop report the replicas they observed: the per-service status until the
      // next report (a stopped service shows 0 ready as soon as it is seen stopped).
      const observed = observedIn(event.data.outcome);
      if (observed && event.data.kind !== 'waitHealthy') {
        const seen = new Map(observed.map((r) => [r.service, r]));
        const merged = state.replicas.map((r) => seen.get(r.service) ?? r);
        return { ...state, rollout: { ...state.rollout, done: [...state.rollout.done, event.data.step] }, replicas: merged };
      }
      return {
        ...state,
        rollout: { ...state.rollout, done: [...state.rollout.done, event.data.step] },
        ...(observed ? { replicas: observed } : {}),
      };
    }
    case 'RolloutSucceeded': {
      const { operation, release } = event.data;
      const base = {
        ...state,
        rollout: null,
        lastRollout: { operation, outcome: 'succeeded' as const, reason: null },
        lastSucceededRollout: event.data.rolloutId,
        replicas: event.data.services,
      };
      if (operation === 'delete') return { ...base, live: {}, mayExist: [], replicas: [] };
      // A stop's services are those its steps observed; a plan with no step observed nothing (nothing runs).
      if (operation === 'stop' && event.data.services.length === 0)
        return { ...base, replicas: state.replicas.map((r) => ({ ...r, ready: 0, available: 0 })) };
      if (operation !== 'release') return base;
      const services = releaseOf(state, release)?.services ?? [];
      const labels = labelsFor(state.live, services, release);
      const live = Object.fromEntries(services.map((spec) => [spec.name, { spec, label: labels[spec.name]! }]));
      return { ...base, live, liveRelease: release, mayExist: [], drift: null, releases: setOutcome(state.releases, release, 'succeeded') };
    }
    case 'RolloutFailed': {
      const { operation, release, reason } = event.data;
      const base = {
        ...state,
        rollout: null,
        lastRollout: { operation, outcome: 'failed' as const, reason },
        replicas: event.data.services,
      };
      return operation === 'release' ? { ...base, releases: setOutcome(state.releases, release, 'failed', reason) } : base;
    }
    case 'DriftDetected':
      return { ...state, drift: event.data.findings };
    case 'DriftResolved':
      return { ...state, drift: null };
    case 'DeploymentRolledBack':
    case 'DeploymentRestarted':
      return state;
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}
