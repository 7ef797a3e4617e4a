// The reconciler's plan, computed purely from what runs (the last release that went live, with the release
// label its instances carry) and what is wanted. Instances are labelled with the release that created
// them; a service whose spec changed gets new instances under the new release's label (rolling: they are
// started beside the old ones, waited for, then the old ones are pruned), a replica change alone scales
// the instances it has, and a service no longer wanted is removed.
import { sameButReplicas, type ServiceSpec } from './deployment-spec.js';

/** A service as it runs: its spec and the release label its instances carry. */
export type LiveService = { spec: ServiceSpec; label: number };

export type ServiceTarget = { service: string; label: number; replicas: number };

export type PlanStep =
  | { kind: 'ensureEnvironment' }
  | { kind: 'apply'; service: string; label: number; replicas: number; change: 'create' | 'update' | 'scale' }
  | { kind: 'waitHealthy'; services: ServiceTarget[] }
  | { kind: 'prune'; service: string; keep: number }
  | { kind: 'remove'; service: string }
  | { kind: 'stop'; service: string }
  | { kind: 'start'; service: string }
  | { kind: 'restart'; service: string };

export type RolloutOperation = 'release' | 'stop' | 'start' | 'restart' | 'delete';

/** The label each wanted service runs under once the release is live. */
export function labelsFor(
  live: Readonly<Record<string, LiveService>>,
  target: readonly ServiceSpec[],
  release: number,
): Record<string, number> {
  const labels: Record<string, number> = {};
  for (const service of target) {
    const current = live[service.name];
    labels[service.name] = current && sameButReplicas(current.spec, service) ? current.label : release;
  }
  return labels;
}

/**
 * The steps that take the world from `live` to `target`. `mayExist` names services that may have instances
 * although they are not live (a release that failed or was superseded mid-rollout): they are removed when
 * not wanted, and pruned down to the wanted label when they are.
 */
export function planRelease(
  live: Readonly<Record<string, LiveService>>,
  mayExist: readonly string[],
  target: readonly ServiceSpec[],
  release: number,
): PlanStep[] {
  const labels = labelsFor(live, target, release);
  const steps: PlanStep[] = [{ kind: 'ensureEnvironment' }];
  const waits: ServiceTarget[] = [];
  for (const service of target) {
    const current = live[service.name];
    const label = labels[service.name]!;
    const change = !current
      ? 'create'
      : label !== current.label
        ? 'update'
        : current.spec.replicas !== service.replicas
          ? 'scale'
          : undefined;
    // An unchanged service that may carry instances of a failed release is applied again: its own
    // instances may have been replaced meanwhile, and the apply is a no-op when they were not.
    const touched = change !== undefined || mayExist.includes(service.name);
    if (touched) steps.push({ kind: 'apply', service: service.name, label, replicas: service.replicas, change: change ?? 'scale' });
    if (touched) waits.push({ service: service.name, label, replicas: service.replicas });
  }
  if (waits.length > 0) steps.push({ kind: 'waitHealthy', services: waits });
  const wanted = new Set(target.map((s) => s.name));
  for (const service of target) {
    if (live[service.name]?.label !== labels[service.name] || mayExist.includes(service.name))
      steps.push({ kind: 'prune', service: service.name, keep: labels[service.name]! });
  }
  const gone = [...new Set([...Object.keys(live), ...mayExist])].filter((name) => !wanted.has(name)).sort();
  for (const name of gone) steps.push({ kind: 'remove', service: name });
  return steps;
}

/** Steps of a lifecycle operation on the live services. */
export function planOperation(
  operation: Exclude<RolloutOperation, 'release'>,
  live: Readonly<Record<string, LiveService>>,
  mayExist: readonly string[],
  services?: readonly string[],
): PlanStep[] {
  const names = Object.keys(live).sort();
  const chosen = services ? names.filter((name) => services.includes(name)) : names;
  const targets = chosen.map((name) => ({ service: name, label: live[name]!.label, replicas: live[name]!.spec.replicas }));
  switch (operation) {
    case 'stop':
      return chosen.map((service) => ({ kind: 'stop', service }));
    case 'start':
      return [
        { kind: 'ensureEnvironment' },
        ...chosen.map((service): PlanStep => ({ kind: 'start', service })),
        { kind: 'waitHealthy', services: targets },
      ];
    case 'restart':
      return [...chosen.map((service): PlanStep => ({ kind: 'restart', service })), { kind: 'waitHealthy', services: targets }];
    case 'delete':
      return [...new Set([...names, ...mayExist])].sort().map((service) => ({ kind: 'remove', service }));
  }
}

/** Applies a plan to a model of the world (service → label and replica count): what a faithful
 * orchestrator ends up running. For tests and the plan's properties. */
export function simulatePlan(
  world: ReadonlyMap<string, ReadonlyMap<number, number>>,
  steps: readonly PlanStep[],
): Map<string, Map<number, number>> {
  const next = new Map([...world].map(([service, labels]) => [service, new Map(labels)]));
  for (const step of steps) {
    if (step.kind === 'apply') {
      const labels = next.get(step.service) ?? new Map<number, number>();
      labels.set(step.label, step.replicas);
      next.set(step.service, labels);
    } else if (step.kind === 'prune') {
      const labels = next.get(step.service);
      if (labels) for (const label of [...labels.keys()]) if (label !== step.keep) labels.delete(label);
    } else if (step.kind === 'remove') next.delete(step.service);
  }
  return next;
}
