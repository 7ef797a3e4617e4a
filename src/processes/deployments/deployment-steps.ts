// The step worker: runs one step of a rollout through the orchestrator and records its outcome. A step
// whose outcome is recorded is never run again (the job finds it done); a step that ran but whose outcome
// was not recorded (a crash) runs again, which the orchestrator port makes harmless (every call converges).
// Errors are retried with backoff (an unreachable orchestrator: the plan resumes when it is back); the
// last attempt fails the rollout. The health gate waits until every service's instances of the release are
// healthy, up to the rollout's progress deadline; past it the rollout fails, and the decider rolls back.
import { randomUUID } from 'node:crypto';
import {
  deploymentDecider,
  deploymentStreamId,
  type DeploymentCommand,
  type DeploymentEvent,
  type DeploymentState,
  type ExistingDeployment,
  type PlanStep,
  type ServiceReplicas,
  type ServiceTarget,
} from '../../domain/deployments/index.js';
import type { JsonObject } from '../../domain/json.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult } from '../../commands/handle-command.js';
import type { EnvironmentDirectory } from '../../ports/environment-directory.js';
import type { Job, JobHandler } from '../../ports/job-queue.js';
import type { DeploymentTarget, ObservedInstance, Orchestrator, OrchestratorRegistry } from '../../ports/orchestrator.js';
import { DEPLOYMENT_PROCESS, STEP_ATTEMPTS, type StepJob } from './deployment-reconciler.js';
import { deploymentTargetOf, resolveService, serviceSpecFor } from './deployment-resolve.js';

export interface ReconcilerObserver {
  stepFinished(kind: PlanStep['kind'], seconds: number): void;
  recorded(events: readonly DeploymentEvent[]): void;
}

export interface ReconcilerDeps {
  readonly commands: CommandDeps;
  readonly directory: EnvironmentDirectory;
  readonly orchestrators: OrchestratorRegistry;
  /** How often the health gate and the drift correction look again (default 500 ms). */
  readonly pollMs?: number;
  /** How long the health gate sees every instance ready, without a crash, before it passes (default 2000 ms). */
  readonly minReadyMs?: number;
  readonly observer?: ReconcilerObserver;
}

export const reconcilerContext = (tenantId: string, correlationId: string, commandId: string): CommandContext =>
  jobCommandContext({ tenantId, process: DEPLOYMENT_PROCESS, commandId, correlationId });

export async function loadDeployment(deps: CommandDeps, tenantId: string, deploymentId: string): Promise<ExistingDeployment | undefined> {
  const { state } = await loadAggregate(deps, deploymentDecider, deploymentStreamId(tenantId, deploymentId), { tenantId });
  return state.status === 'exists' ? state : undefined;
}

export async function recordOutcome(
  deps: ReconcilerDeps,
  tenantId: string,
  deploymentId: string,
  commandId: string,
  command: DeploymentCommand,
): Promise<CommandResult<DeploymentState, DeploymentEvent>> {
  const result = await handleCommand(deps.commands, deploymentDecider, {
    streamId: deploymentStreamId(tenantId, deploymentId),
    command,
    context: reconcilerContext(tenantId, deploymentId, commandId),
  });
  if (!result.idempotent) deps.observer?.recorded(result.events);
  return result;
}

/** Desired, ready (running and healthy, or running without a health check) and available (running) replicas. */
export function replicasOf(targets: readonly ServiceTarget[], observed: readonly ObservedInstance[]): ServiceReplicas[] {
  return targets.map(({ service, label, replicas }) => {
    const mine = observed.filter((i) => i.service === service && i.release === label);
    const available = mine.filter((i) => i.state === 'running').length;
    const ready = mine.filter((i) => i.state === 'running' && (i.health === 'healthy' || i.health === 'none')).length;
    return { service, desired: replicas, ready, available };
  });
}

/** `replicas` with the services `observed` replaced. */
const merge = (replicas: readonly ServiceReplicas[], observed: readonly ServiceReplicas[]): ServiceReplicas[] => {
  const seen = new Map(observed.map((r) => [r.service, r]));
  return [...replicas.map((r) => seen.get(r.service) ?? r), ...observed.filter((r) => !replicas.some((x) => x.service === r.service))];
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Instances of the gated services that crashed: exited, restarting, OOM-killed, CrashLoopBackOff, or restarted
 * by the orchestrator (those `fresh` (labelled with the release that created them in this rollout) since they
 * were created; others since the gate began). */
export function crashedIn(
  targets: readonly ServiceTarget[],
  observed: readonly ObservedInstance[],
  fresh: number | null,
  restartsAtStart: ReadonlyMap<string, number>,
): ObservedInstance[] {
  return observed.filter((i) => {
    if (!targets.some((t) => t.service === i.service && t.label === i.release)) return false;
    if (i.state === 'failed') return true;
    const baseline = i.release === fresh ? 0 : (restartsAtStart.get(i.id) ?? i.restarts ?? 0);
    return (i.restarts ?? 0) > baseline;
  });
}

/** Waits for the release's instances to be healthy and to stay so for `minReadyMs` (a process that exits a
 * moment after it started is not passed); a crashed instance fails the gate at once (the decider then rolls
 * back when the policy says so). The outcome, or a failure reason. */
async function healthGate(
  deps: ReconcilerDeps,
  orchestrator: Orchestrator,
  target: DeploymentTarget,
  targets: readonly ServiceTarget[],
  fresh: number | null,
  deadlineAt: number,
): Promise<{ healthy: boolean; services: ServiceReplicas[]; reason: string }> {
  // The stable window fits inside the progress deadline (at most half of it): a release with a deadline shorter
  // than DEPLOYMENT_MIN_READY_MS must still be able to pass.
  const minReadyMs = Math.min(deps.minReadyMs ?? 2000, Math.max(0, (deadlineAt - deps.commands.clock().getTime()) / 2));
  let restartsAtStart: Map<string, number> | undefined;
  let readySince: number | undefined;
  for (;;) {
    const observed = await orchestrator.observe({
      tenantId: target.tenantId,
      environmentId: target.environmentId,
      deploymentId: target.deploymentId,
    });
    restartsAtStart ??= new Map(observed.map((i) => [i.id, i.restarts ?? 0]));
    const services = replicasOf(targets, observed);
    const crashed = crashedIn(targets, observed, fresh, restartsAtStart);
    if (crashed.length > 0) {
      const what = crashed.map((i) => `${i.service} replica ${i.replica} ${i.detail ?? `restarted ${i.restarts ?? 0} times`}`);
      return { healthy: false, services, reason: `crashed: ${what.join(', ')}` };
    }
    const now = deps.commands.clock().getTime();
    const ready = services.every((s) => s.ready === s.desired && s.available === s.desired);
    readySince = ready ? (readySince ?? now) : undefined;
    if (ready && now - readySince! >= minReadyMs) return { healthy: true, services, reason: '' };
    if (now >= deadlineAt) {
      const late = services.filter((s) => s.ready !== s.desired).map((s) => `${s.service} ${s.ready}/${s.desired} ready`);
      return { healthy: false, services, reason: `not healthy within the progress deadline: ${late.join(', ') || 'not stable'}` };
    }
    await sleep(deps.pollMs ?? 500);
  }
}

async function runStep(
  deps: ReconcilerDeps,
  orchestrator: Orchestrator,
  state: ExistingDeployment,
  target: DeploymentTarget,
  step: PlanStep,
  release: number,
  deadlineAt: number,
) {
  switch (step.kind) {
    case 'ensureEnvironment':
      await orchestrator.ensureEnvironment(target);
      return { outcome: {} as JsonObject };
    case 'apply': {
      const spec = serviceSpecFor(state, release, step.service);
      if (!spec) throw new Error(`release ${release} has no service ${step.service}`);
      // Secrets are decrypted here, just before the call, and dropped with `resolved`.
      const resolved = await resolveService(deps.directory, target.tenantId, state.environmentId, spec, step.label, step.replicas);
      await orchestrator.applyService(target, resolved);
      return { outcome: { service: step.service, label: step.label, replicas: step.replicas } };
    }
    case 'waitHealthy': {
      // Instances a release rollout created are new: any restart is a crash. A start or restart counts from the gate on.
      const fresh = state.rollout?.operation === 'release' ? release : null;
      const gate = await healthGate(deps, orchestrator, target, step.services, fresh, deadlineAt);
      return { outcome: { services: gate.services }, services: gate.services, failure: gate.healthy ? undefined : gate.reason };
    }
    case 'prune':
      await orchestrator.pruneService(target, step.service, step.keep);
      return { outcome: { service: step.service, keep: step.keep } };
    case 'remove':
      await orchestrator.removeService(target, step.service);
      return { outcome: { service: step.service } };
    case 'stop': {
      await orchestrator.stopService(target, step.service);
      // What the orchestrator shows once it is stopped: the status follows observation, not the command.
      const live = state.live[step.service];
      const observed = await orchestrator.observe({
        tenantId: target.tenantId,
        environmentId: target.environmentId,
        deploymentId: target.deploymentId,
      });
      const services = live ? replicasOf([{ service: step.service, label: live.label, replicas: live.spec.replicas }], observed) : [];
      return { outcome: { service: step.service, services } as unknown as JsonObject, services: merge(state.replicas, services) };
    }
    case 'start':
      await orchestrator.startService(target, step.service);
      return { outcome: { service: step.service } };
    case 'restart': {
      // Configs may have changed (a config roll): converge the instances to the current values first (the
      // adapter replaces those whose resolved spec differs), then replace every instance one by one.
      const live = state.live[step.service];
      if (live)
        await orchestrator.applyService(
          target,
          await resolveService(deps.directory, target.tenantId, state.environmentId, live.spec, live.label, live.spec.replicas),
        );
      await orchestrator.restartService(target, step.service);
      return { outcome: { service: step.service } };
    }
  }
}

export function deploymentStepWorker(deps: ReconcilerDeps): JobHandler {
  return async (job: Job) => {
    const { deploymentId, tenantId, rolloutId, step } = job.payload as StepJob;
    const state = await loadDeployment(deps.commands, tenantId, deploymentId);
    const rollout = state?.rollout;
    // Superseded by a newer rollout, or this step's outcome is already recorded: nothing to do.
    if (!state || !rollout || rollout.rolloutId !== rolloutId || rollout.done.includes(step)) return;
    const commandId = (what: string) => deterministicUuid(`rollout:${rolloutId}`, `${what}:${step}`);
    const now = () => deps.commands.clock().toISOString();
    const planStep = rollout.steps[step];
    if (!planStep) {
      await recordOutcome(deps, tenantId, deploymentId, commandId('complete'), {
        type: 'CompleteStep',
        data: { rolloutId, step, outcome: {}, now: now(), services: state.replicas },
      });
      return;
    }
    const started = performance.now();
    try {
      const orchestrator = deps.orchestrators.get(state.orchestrator);
      if (!orchestrator) throw new Error(`no ${state.orchestrator} orchestrator is configured`);
      const target = await deploymentTargetOf(deps.directory, tenantId, state);
      const result = await runStep(deps, orchestrator, state, target, planStep, rollout.release, Date.parse(rollout.deadlineAt));
      deps.observer?.stepFinished(planStep.kind, (performance.now() - started) / 1000);
      if ('failure' in result && result.failure !== undefined) {
        await recordOutcome(deps, tenantId, deploymentId, commandId('fail'), {
          type: 'FailRollout',
          data: {
            rolloutId,
            step,
            reason: result.failure,
            services: result.services ?? [],
            rollbackRolloutId: commandId('rollback'),
            now: now(),
          },
        });
        return;
      }
      const services = 'services' in result && result.services ? result.services : state.replicas;
      await recordOutcome(deps, tenantId, deploymentId, commandId('complete'), {
        type: 'CompleteStep',
        data: { rolloutId, step, outcome: result.outcome, now: now(), services },
      });
    } catch (error) {
      if (job.attempt < STEP_ATTEMPTS) throw error;
      const reason = `step ${step} (${planStep.kind}) failed ${job.attempt} times: ${error instanceof Error ? error.message : String(error)}`;
      await recordOutcome(deps, tenantId, deploymentId, commandId('fail'), {
        type: 'FailRollout',
        data: { rolloutId, step, reason, services: state.replicas, rollbackRolloutId: commandId('rollback'), now: now() },
      });
    }
  };
}

/** A fresh command id for a record that is not tied to one job run (drift reports). */
export const freshCommandId = () => randomUUID();
