// The periodic drift check: observes what runs for a deployment, records DriftDetected when it differs
// from the live release (and DriftResolved once it no longer does), and with self-heal on converges it
// again (apply each drifted service, prune other releases, remove services it does not run). The check is
// a chain of delayed jobs following the last rollout that succeeded; a newer one starts its own chain.
// It waits while a rollout runs (the rollout converges the world itself) or the deployment is stopped.
import { driftOf, type DriftFinding, type ExistingDeployment } from '../../domain/deployments/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { Job, JobHandler, JobQueue } from '../../ports/job-queue.js';
import type { Orchestrator } from '../../ports/orchestrator.js';
import { DEPLOYMENT_DRIFT_QUEUE, type DriftJob } from './deployment-reconciler.js';
import { deploymentTargetOf, resolveService } from './deployment-resolve.js';
import { loadDeployment, recordOutcome, type ReconcilerDeps } from './deployment-steps.js';

export interface DriftObserver {
  driftDetected(findings: readonly DriftFinding[], corrected: boolean): void;
}

async function heal(
  deps: ReconcilerDeps,
  orchestrator: Orchestrator,
  state: ExistingDeployment,
  tenantId: string,
  findings: readonly DriftFinding[],
) {
  const target = await deploymentTargetOf(deps.directory, tenantId, state);
  await orchestrator.ensureEnvironment(target);
  for (const name of [...new Set(findings.map((f) => f.service))]) {
    const live = state.live[name];
    if (!live) {
      await orchestrator.removeService(target, name);
      continue;
    }
    const resolved = await resolveService(deps.directory, tenantId, state.environmentId, live.spec, live.label, live.spec.replicas);
    await orchestrator.applyService(target, resolved);
    await orchestrator.pruneService(target, name, live.label);
  }
}

/** One check of one deployment: the findings after it (after healing, when self-heal is on). */
export async function checkDrift(
  deps: ReconcilerDeps & { drift?: DriftObserver },
  tenantId: string,
  state: ExistingDeployment,
): Promise<DriftFinding[]> {
  const orchestrator = deps.orchestrators.get(state.orchestrator);
  if (!orchestrator) return [];
  const scope = { tenantId, environmentId: state.environmentId, deploymentId: state.deploymentId };
  const findings = driftOf(state.live, await orchestrator.observe(scope));
  const record = (found: DriftFinding[]) =>
    recordOutcome(
      deps,
      tenantId,
      state.deploymentId,
      deterministicUuid(`drift:${state.deploymentId}`, `${JSON.stringify(found)}:${Date.now()}`),
      {
        type: 'RecordDrift',
        data: { findings: found },
      },
    );
  if (findings.length === 0) {
    if (state.drift) await record([]);
    return [];
  }
  await record(findings);
  deps.drift?.driftDetected(findings, state.policy.selfHeal);
  if (!state.policy.selfHeal) return findings;
  await heal(deps, orchestrator, state, tenantId, findings);
  // Replacements start at once; a check after them records the drift resolved.
  const after = driftOf(state.live, await orchestrator.observe(scope));
  if (after.length === 0) await record([]);
  return after;
}

export function deploymentDriftWorker(deps: ReconcilerDeps & { queue: JobQueue; intervalMs: number; drift?: DriftObserver }): JobHandler {
  return async (job: Job) => {
    const { deploymentId, tenantId, chain, seq } = job.payload as DriftJob;
    const state = await loadDeployment(deps.commands, tenantId, deploymentId);
    if (!state || state.deleted || state.lastSucceededRollout !== chain) return; // a newer chain took over
    if (!state.stopped && !state.rollout) await checkDrift(deps, tenantId, state);
    const next: DriftJob = { deploymentId, tenantId, chain, seq: seq + 1 };
    await deps.queue.enqueue(DEPLOYMENT_DRIFT_QUEUE, `drift.${chain}.${seq + 1}`, next, { delayMs: deps.intervalMs, attempts: 3 });
  };
}
