// Properties of the reconciler's plan: whatever runs and whatever is wanted, a faithful orchestrator that
// runs the plan ends with exactly the wanted services at the wanted counts, one label each; unchanged
// services are not touched; the health gate comes after every apply and before anything is pruned.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsFor, planRelease, simulatePlan, type LiveService, type ServiceSpec } from '../../../src/domain/deployments/index.js';

const NAMES = ['web', 'api', 'db', 'cache'];
const spec = (name: string, image: string, replicas: number): ServiceSpec => ({
  name,
  type: 'backend',
  image,
  replicas,
  ports: [],
  env: {},
  envFrom: [],
  volumes: [],
  command: null,
  resources: { cpuMillis: null, memoryMb: null },
  healthCheck: null,
});
const services = fc.uniqueArray(
  fc.record({ name: fc.constantFrom(...NAMES), image: fc.constantFrom('a:1', 'a:2'), replicas: fc.integer({ min: 0, max: 3 }) }),
  {
    selector: (s) => s.name,
    maxLength: 4,
  },
);

const scenario = fc.record({
  live: services,
  liveLabel: fc.integer({ min: 1, max: 5 }),
  target: services.filter((s) => s.length > 0),
  stray: fc.subarray(NAMES),
});

function worldOf(live: Record<string, LiveService>, stray: readonly string[], strayLabel: number) {
  const world = new Map<string, Map<number, number>>();
  for (const [name, l] of Object.entries(live)) world.set(name, new Map([[l.label, l.spec.replicas]]));
  // A failed release left instances under another label.
  for (const name of stray) world.set(name, new Map([...(world.get(name) ?? new Map()), [strayLabel, 1]]));
  return world;
}

describe('planRelease', () => {
  it('converges any world to the target: each wanted service at its count under one label, nothing else', () => {
    fc.assert(
      fc.property(scenario, ({ live: liveSpecs, liveLabel, target: targetSpecs, stray }) => {
        const live = Object.fromEntries(liveSpecs.map((s) => [s.name, { spec: spec(s.name, s.image, s.replicas), label: liveLabel }]));
        const target = targetSpecs.map((s) => spec(s.name, s.image, s.replicas));
        const release = liveLabel + 2;
        const steps = planRelease(live, stray, target, release);
        const after = simulatePlan(worldOf(live, stray, liveLabel + 1), steps);
        const labels = labelsFor(live, target, release);
        expect([...after.keys()].sort()).toEqual(target.map((s) => s.name).sort());
        for (const s of target) expect([...after.get(s.name)!]).toEqual([[labels[s.name], s.replicas]]);
      }),
    );
  });

  it('orders the gate: ensureEnvironment first, every apply before waitHealthy, every prune and remove after it', () => {
    fc.assert(
      fc.property(scenario, ({ live: liveSpecs, liveLabel, target: targetSpecs, stray }) => {
        const live = Object.fromEntries(liveSpecs.map((s) => [s.name, { spec: spec(s.name, s.image, s.replicas), label: liveLabel }]));
        const steps = planRelease(
          live,
          stray,
          targetSpecs.map((s) => spec(s.name, s.image, s.replicas)),
          liveLabel + 1,
        );
        expect(steps[0]).toEqual({ kind: 'ensureEnvironment' });
        const wait = steps.findIndex((s) => s.kind === 'waitHealthy');
        const applies = steps.flatMap((s, i) => (s.kind === 'apply' ? [i] : []));
        const cleanups = steps.flatMap((s, i) => (s.kind === 'prune' || s.kind === 'remove' ? [i] : []));
        if (applies.length > 0) expect(wait).toBeGreaterThan(Math.max(...applies));
        if (wait >= 0) for (const i of cleanups) expect(i).toBeGreaterThan(wait);
        // One apply per service at most, and it waits for exactly the applied services.
        const applied = steps.flatMap((s) => (s.kind === 'apply' ? [s.service] : []));
        expect(new Set(applied).size).toBe(applied.length);
        const waited = wait >= 0 ? (steps[wait] as { services: { service: string }[] }).services.map((s) => s.service) : [];
        expect(waited).toEqual(applied);
      }),
    );
  });

  it('touches nothing that is unchanged and clean; a replica change alone scales under the live label', () => {
    fc.assert(
      fc.property(
        services.filter((s) => s.length > 0),
        fc.integer({ min: 1, max: 5 }),
        (specs, label) => {
          const live = Object.fromEntries(specs.map((s) => [s.name, { spec: spec(s.name, s.image, s.replicas), label }]));
          expect(
            planRelease(
              live,
              [],
              specs.map((s) => spec(s.name, s.image, s.replicas)),
              label + 1,
            ),
          ).toEqual([{ kind: 'ensureEnvironment' }]);
          const scaled = specs.map((s) => spec(s.name, s.image, s.replicas + 1));
          const steps = planRelease(live, [], scaled, label + 1);
          expect(
            steps.filter((s) => s.kind === 'apply').every((s) => s.kind === 'apply' && s.change === 'scale' && s.label === label),
          ).toBe(true);
          expect(steps.some((s) => s.kind === 'prune' || s.kind === 'remove')).toBe(false);
        },
      ),
    );
  });
});
