// The deployment aggregate: decide(command, state) → events, evolve in deployment-state.ts. Every spec
// change (deploy, update, scale, rollback) is a release with a number and a plan for the reconciler; a
// failed release is rolled back to the last live one when the policy says so.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { DEPLOYMENT_CATEGORY } from './deployment-streams.js';
import type { DeploymentCommand } from './deployment-commands.js';
import type { DeploymentEvent, ReleaseKind } from './deployment-events.js';
import { planOperation, planRelease, type RolloutOperation } from './deployment-plan.js';
import { describeChanges, validReplicas, type ServiceSpec } from './deployment-spec.js';
import { evolveDeployment, releaseOf, type DeploymentState, type ExistingDeployment } from './deployment-state.js';

const conflict = (rule: string, message: string, field?: string) => new RuleViolation(`deployment.${rule}`, message, 'conflict', field);

export function assertDeploymentExists(state: DeploymentState): asserts state is ExistingDeployment {
  if (state.status === 'absent' || state.deleted) throw notFoundOf(DEPLOYMENT_CATEGORY);
}

const deadline = (state: ExistingDeployment, now: string) =>
  new Date(Date.parse(now) + state.policy.progressDeadlineSeconds * 1000).toISOString();

function planned(
  state: ExistingDeployment,
  rolloutId: string,
  release: number,
  operation: RolloutOperation,
  now: string,
  services?: string[],
): DeploymentEvent {
  const spec = releaseOf(state, release)?.services ?? [];
  const steps =
    operation === 'release'
      ? planRelease(state.live, state.mayExist, spec, release)
      : planOperation(operation, state.live, state.mayExist, services);
  return { type: 'RolloutPlanned', data: { rolloutId, release, operation, steps, startedAt: now, deadlineAt: deadline(state, now) } };
}

/** A new release and its rollout. */
function release(
  state: ExistingDeployment,
  input: {
    version: string;
    kind: ReleaseKind;
    services: ServiceSpec[];
    rollbackTo: number | null;
    automatic: boolean;
    reason: string;
    rolloutId: string;
    now: string;
  },
): DeploymentEvent[] {
  const number = state.releases.length + 1;
  const current = releaseOf(state, state.desired);
  const created: DeploymentEvent = {
    type: 'ReleaseCreated',
    data: {
      release: number,
      version: input.version,
      kind: input.kind,
      services: input.services,
      rollbackTo: input.rollbackTo,
      automatic: input.automatic,
      reason: input.reason,
      changes: describeChanges(current?.services ?? [], input.services),
    },
  };
  const next = evolveDeployment(state, created) as ExistingDeployment;
  return [created, planned(next, input.rolloutId, number, 'release', input.now)];
}

/** The newest release before the desired one that went live: the default target of a rollback. */
export const previousGoodRelease = (state: ExistingDeployment): number | undefined =>
  state.releases.filter((r) => r.release < state.desired && r.outcome === 'succeeded').at(-1)?.release;

function decide(command: DeploymentCommand, state: DeploymentState): DeploymentEvent[] {
  if (command.type === 'Deploy') {
    if (state.status !== 'absent') throw conflict('exists', 'this deployment already exists', 'deploymentId');
    const { deploymentId, name, applicationId, environment, policy } = command.data;
    const created: DeploymentEvent = {
      type: 'DeploymentCreated',
      data: {
        deploymentId,
        name,
        applicationId,
        environmentId: environment.environmentId,
        environmentType: environment.type,
        orchestrator: environment.orchestrator,
        target: environment.target,
        policy,
      },
    };
    const next = evolveDeployment(state, created) as ExistingDeployment;
    return [created, ...release(next, { ...command.data, kind: 'deploy', rollbackTo: null, automatic: false })];
  }
  if (command.type === 'RecordDrift' || command.type === 'CompleteStep' || command.type === 'FailRollout') {
    if (state.status === 'absent') return [];
    return reconcilerDecision(command, state);
  }
  assertDeploymentExists(state);
  const current = releaseOf(state, state.desired)!;
  switch (command.type) {
    case 'Update': {
      if (state.stopped) throw conflict('stopped', 'a stopped deployment cannot be updated; start it first');
      const changes = describeChanges(current.services, command.data.services);
      if (changes.length === 0 && command.data.version === current.version) return [];
      return release(state, { ...command.data, kind: 'update', rollbackTo: null, automatic: false });
    }
    case 'Scale': {
      // The same rule as on create: a replica count reaches the orchestrator only through validReplicas.
      validReplicas(command.data.replicas, 'replicas');
      if (state.stopped) throw conflict('stopped', 'a stopped deployment cannot be scaled; start it first', 'service');
      const index = current.services.findIndex((s) => s.name === command.data.service);
      if (index < 0)
        throw new RuleViolation(
          'deployment.service.not_found',
          `no service ${command.data.service} in this deployment`,
          'not_found',
          'service',
        );
      if (current.services[index]!.replicas === command.data.replicas) return [];
      const services = current.services.map((s, i) => (i === index ? { ...s, replicas: command.data.replicas } : s));
      return release(state, { ...command.data, version: current.version, services, kind: 'scale', rollbackTo: null, automatic: false });
    }
    case 'Rollback': {
      if (state.stopped) throw conflict('stopped', 'a stopped deployment cannot be rolled back; start it first');
      const to = command.data.toRelease ?? previousGoodRelease(state);
      if (to === undefined)
        throw conflict('rollback.no_good_release', 'no earlier release went live; name one with toRelease', 'toRelease');
      const target = releaseOf(state, to);
      if (!target || to < 1)
        throw new RuleViolation('deployment.release.not_found', `release ${to} does not exist`, 'not_found', 'toRelease');
      if (to === state.desired) throw conflict('rollback.current', `release ${to} is the current release`, 'toRelease');
      const { rolloutId, now, reason, automatic } = command.data;
      const rolledBack: DeploymentEvent = {
        type: 'DeploymentRolledBack',
        data: { fromRelease: state.desired, toRelease: to, release: state.releases.length + 1, automatic, reason },
      };
      return [
        rolledBack,
        ...release(state, {
          version: target.version,
          services: target.services,
          kind: 'rollback',
          rollbackTo: to,
          automatic,
          reason,
          rolloutId,
          now,
        }),
      ];
    }
    case 'Stop':
      if (state.stopped) return [];
      return [
        { type: 'DeploymentStopped', data: { reason: command.data.reason } },
        planned(state, command.data.rolloutId, state.desired, 'stop', command.data.now),
      ];
    case 'Start':
      if (!state.stopped) return [];
      return [
        { type: 'DeploymentStarted', data: { reason: command.data.reason } },
        planned(state, command.data.rolloutId, state.desired, 'start', command.data.now),
      ];
    case 'Restart': {
      if (state.stopped) throw conflict('stopped', 'a stopped deployment cannot be restarted; start it');
      const names = command.data.services ?? Object.keys(state.live).sort();
      const unknown = names.find((name) => !state.live[name]);
      if (unknown !== undefined)
        throw new RuleViolation(
          'deployment.service.not_found',
          `no running service ${unknown} in this deployment`,
          'not_found',
          'services',
        );
      if (names.length === 0) return [];
      return [
        { type: 'DeploymentRestarted', data: { services: names, reason: command.data.reason } },
        planned(state, command.data.rolloutId, state.desired, 'restart', command.data.now, names),
      ];
    }
    case 'Delete':
      return [
        { type: 'DeploymentDeleted', data: { reason: command.data.reason } },
        planned(state, command.data.rolloutId, state.desired, 'delete', command.data.now),
      ];
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

/** Outcomes the reconciler reports. A report about a rollout that is no longer current changes nothing. */
function reconcilerDecision(
  command: Extract<DeploymentCommand, { type: 'CompleteStep' | 'FailRollout' | 'RecordDrift' }>,
  state: ExistingDeployment,
): DeploymentEvent[] {
  if (command.type === 'RecordDrift') {
    const { findings } = command.data;
    if (findings.length === 0) return state.drift ? [{ type: 'DriftResolved', data: { corrected: state.policy.selfHeal } }] : [];
    if (JSON.stringify(findings) === JSON.stringify(state.drift)) return [];
    return [{ type: 'DriftDetected', data: { findings, selfHeal: state.policy.selfHeal } }];
  }
  const rollout = state.rollout;
  if (!rollout || rollout.rolloutId !== command.data.rolloutId) return [];
  if (command.type === 'CompleteStep') {
    const { step, outcome, now, services } = command.data;
    const durationMs = Math.max(0, Date.parse(now) - Date.parse(rollout.startedAt));
    const succeeded: DeploymentEvent = {
      type: 'RolloutSucceeded',
      data: { rolloutId: rollout.rolloutId, release: rollout.release, operation: rollout.operation, durationMs, services },
    };
    // A plan with nothing to do (stopping a deployment with no live service) succeeds on its first report.
    if (rollout.steps.length === 0) return step === 0 ? [succeeded] : [];
    if (rollout.done.includes(step) || step >= rollout.steps.length) return [];
    const remaining = rollout.steps.map((_, index) => index).filter((index) => index !== step && !rollout.done.includes(index));
    const completed: DeploymentEvent = {
      type: 'RolloutStepCompleted',
      data: { rolloutId: rollout.rolloutId, step, kind: rollout.steps[step]!.kind, next: remaining[0] ?? null, outcome },
    };
    return remaining.length > 0 ? [completed] : [completed, succeeded];
  }
  const { step, reason, services, rollbackRolloutId, now } = command.data;
  const failed: DeploymentEvent = {
    type: 'RolloutFailed',
    data: { rolloutId: rollout.rolloutId, release: rollout.release, operation: rollout.operation, step, reason, services },
  };
  const after = evolveDeployment(state, failed) as ExistingDeployment;
  const failedRelease = releaseOf(state, rollout.release);
  const rollBack =
    rollout.operation === 'release' &&
    state.policy.autoRollback &&
    !failedRelease?.automatic &&
    state.liveRelease !== null &&
    state.liveRelease !== rollout.release;
  if (!rollBack) return [failed];
  return [
    failed,
    ...decide(
      {
        type: 'Rollback',
        data: {
          toRelease: state.liveRelease,
          reason: `automatic: release ${rollout.release} failed: ${reason}`,
          automatic: true,
          rolloutId: rollbackRolloutId,
          now,
        },
      },
      after,
    ),
  ];
}

export const deploymentDecider: Decider<DeploymentState, DeploymentCommand, DeploymentEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve: evolveDeployment,
};
