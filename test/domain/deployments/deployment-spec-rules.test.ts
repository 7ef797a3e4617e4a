// Issue #15 items 1 and 15: one rule for every replica count (create, update and scale agree: no number
// the create refuses reaches an orchestrator through a scale), and a spec is checked whole: every field at
// fault is reported, not the first one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_LIMITS,
  deploymentDecider,
  servicesOf,
  type DeploymentEvent,
  type ServiceInput,
} from '../../../src/domain/deployments/index.js';
import { RuleViolation, RuleViolations } from '../../../src/domain/rule-violation.js';
import { deciderSpec } from '../../support/decider-spec.js';

const { stateAfter } = deciderSpec(deploymentDecider);
const NOW = '2026-01-01T00:00:00.000Z';
const NO_QUOTA = { maxReplicasPerService: null, maxTotalReplicas: null, cpuMillis: null, memoryMb: null };
const service = (replicas: number): ServiceInput => ({ name: 'web', type: 'frontend', image: 'busybox:1', replicas });

const deployed: DeploymentEvent[] = deploymentDecider.decide(
  {
    type: 'Deploy',
    data: {
      deploymentId: '00000000-0000-4000-8000-000000000001',
      name: 'shop',
      applicationId: 'shop',
      environment: { environmentId: 'e', type: 'development', orchestrator: 'docker', target: 'net' },
      version: '1',
      services: servicesOf([service(1)], NO_QUOTA),
      policy: { autoRollback: false, selfHeal: true, progressDeadlineSeconds: 60 },
      reason: 'first',
      rolloutId: 'r1',
      now: NOW,
    },
  },
  { status: 'absent' },
);

/** Whether create accepts the count, and whether scale does (either refused with a rule, or events). */
function verdicts(replicas: number): { create: string; scale: string } {
  const verdict = (run: () => unknown) => {
    try {
      run();
      return 'accepted';
    } catch (error) {
      if (!(error instanceof RuleViolation)) throw error;
      return `${error.kind}:${error.rule}`;
    }
  };
  return {
    create: verdict(() => servicesOf([service(replicas)], NO_QUOTA)),
    scale: verdict(() =>
      deploymentDecider.decide(
        { type: 'Scale', data: { service: 'web', replicas, reason: 'r', rolloutId: 'r2', now: NOW } },
        stateAfter(deployed),
      ),
    ),
  };
}

const counts = fc.oneof(
  fc.integer({ min: -5, max: DEPLOYMENT_LIMITS.replicasMax + 5 }),
  fc.constantFrom(2_147_483_648, 1e308, Number.MAX_SAFE_INTEGER, -0, 0.5, 101),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

describe('one rule for a replica count', () => {
  it('create and scale accept and refuse the same counts, with the same rule (fast-check)', () => {
    fc.assert(
      fc.property(counts, (replicas) => {
        const { create, scale } = verdicts(replicas);
        expect(scale).toBe(create);
        const allowed = Number.isInteger(replicas) && replicas >= 0 && replicas <= DEPLOYMENT_LIMITS.replicasMax;
        expect(create === 'accepted').toBe(allowed);
      }),
      { numRuns: 500 },
    );
  });

  it('scale to 2,147,483,648, 1e308 or 101 is refused as invalid naming replicas', () => {
    for (const replicas of [2_147_483_648, 1e308, 101]) {
      const thrown = (() => {
        try {
          deploymentDecider.decide(
            { type: 'Scale', data: { service: 'web', replicas, reason: 'r', rolloutId: 'r2', now: NOW } },
            stateAfter(deployed),
          );
        } catch (error) {
          return error as RuleViolation;
        }
        return undefined;
      })();
      expect(thrown).toMatchObject({ rule: 'deployment.replicas.max', kind: 'invalid', field: 'replicas' });
    }
  });
});

describe('a spec is checked whole', () => {
  it('reports the image and the replicas of the issue together', () => {
    let thrown: unknown;
    try {
      servicesOf([{ name: 'web', type: 'frontend', image: 'NOT AN IMAGE', replicas: -1 }], NO_QUOTA);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RuleViolations);
    expect((thrown as RuleViolations).violations.map((v) => [v.field, v.rule])).toEqual([
      ['services.0.image', 'deployment.image.reference'],
      ['services.0.replicas', 'deployment.replicas.min'],
    ]);
  });

  // Independent faults, each breaking one field of its own service: every one is named, none twice.
  const faults: Record<string, { patch: Partial<ServiceInput>; field: string }> = {
    image: { patch: { image: 'NOT AN IMAGE' }, field: 'image' },
    replicas: { patch: { replicas: 1e308 }, field: 'replicas' },
    name: { patch: { name: 'Web_1' }, field: 'name' },
    env: { patch: { env: { 'not-a-name': 'x' } }, field: 'env.not-a-name' },
    port: { patch: { ports: [{ containerPort: 70_000 }] }, field: 'ports.0.containerPort' },
    memory: { patch: { resources: { memoryMb: 1 } }, field: 'resources.memoryMb' },
    volume: { patch: { volumes: [{ name: 'v', kind: 'emptydir', mountPath: 'relative' }] }, field: 'volumes.0.mountPath' },
    health: { patch: { healthCheck: { command: ['true'], intervalSeconds: 0 } }, field: 'healthCheck.intervalSeconds' },
  };
  it('every field at fault is reported, whatever the combination (fast-check)', () => {
    const oneService = fc.subarray(Object.keys(faults), { minLength: 0 });
    fc.assert(
      fc.property(fc.array(oneService, { minLength: 1, maxLength: 4 }), (perService) => {
        const inputs = perService.map((kinds, index) =>
          Object.assign(
            { name: `s${index}`, type: 'backend', image: 'busybox:1', replicas: 1 } as ServiceInput,
            ...kinds.map((k) => faults[k]!.patch),
          ),
        );
        // Two services renamed alike by the `name` fault would also clash: keep names unique.
        inputs.forEach((input, index) => perService[index]!.includes('name') && (input.name = `Web_${index}`));
        const expected = perService.flatMap((kinds, index) => kinds.map((k) => `services.${index}.${faults[k]!.field}`)).sort();
        let reported: string[] = [];
        try {
          servicesOf(inputs, NO_QUOTA);
        } catch (error) {
          expect(error).toBeInstanceOf(RuleViolation);
          reported = (error instanceof RuleViolations ? error.violations : [error as RuleViolation]).map((v) => v.field!).sort();
        }
        expect(reported).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
