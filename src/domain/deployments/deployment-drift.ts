// Drift: what runs compared with what the live release wants. Pure; the reconciler observes and records.
import type { DriftFinding } from './deployment-events.js';
import type { LiveService } from './deployment-plan.js';

/** One instance as the orchestrator reports it (the port's ObservedInstance, without importing ports). */
export type ObservedReplica = {
  service: string;
  release: number;
  replica: number;
  image: string;
  state: 'running' | 'starting' | 'stopped' | 'failed';
  health: 'healthy' | 'unhealthy' | 'starting' | 'none';
};

/**
 * Missing or stopped replicas, replicas of another release or beyond the count, a wrong image, and
 * instances of services the deployment does not run. Starting instances are not drift (yet).
 */
export function driftOf(live: Readonly<Record<string, LiveService>>, observed: readonly ObservedReplica[]): DriftFinding[] {
  const findings: DriftFinding[] = [];
  for (const name of Object.keys(live).sort()) {
    const { spec, label } = live[name]!;
    const mine = observed.filter((i) => i.service === name);
    const current = mine.filter((i) => i.release === label && i.replica < spec.replicas);
    const up = current.filter((i) => i.state === 'running' || i.state === 'starting');
    if (up.length < spec.replicas)
      findings.push({ service: name, kind: 'missing', expected: `${spec.replicas} running`, observed: `${up.length} running` });
    const extra = mine.length - current.length;
    if (extra > 0)
      findings.push({
        service: name,
        kind: 'extra',
        expected: `${spec.replicas} instances of release ${label}`,
        observed: `${extra} more`,
      });
    const wrong = [...new Set(current.filter((i) => i.image !== spec.image).map((i) => i.image))];
    if (wrong.length > 0) findings.push({ service: name, kind: 'wrong_image', expected: spec.image, observed: wrong.join(', ') });
    if (up.length > spec.replicas)
      findings.push({ service: name, kind: 'wrong_replicas', expected: String(spec.replicas), observed: String(up.length) });
    const sick = up.filter((i) => i.health === 'unhealthy').length;
    if (sick > 0) findings.push({ service: name, kind: 'unhealthy', expected: 'healthy', observed: `${sick} unhealthy` });
  }
  const strays = [...new Set(observed.map((i) => i.service))].filter((name) => !live[name]).sort();
  for (const name of strays)
    findings.push({
      service: name,
      kind: 'extra',
      expected: 'no instances',
      observed: `${observed.filter((i) => i.service === name).length} instances`,
    });
  return findings;
}
