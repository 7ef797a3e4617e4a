// The deployment aggregate: releases are numbered, rollbacks default to the previous good release, a
// failed release rolls back only by policy, reports about a superseded rollout change nothing; and the
// service rules (image references, port clashes, quotas) name the field they refuse.
import { describe, expect, it } from 'vitest';
import {
  deploymentDecider,
  isImageReference,
  servicesOf,
  type DeploymentCommand,
  type DeploymentEvent,
  type ExistingDeployment,
} from '../../../src/domain/deployments/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

const { given, stateAfter } = deciderSpec(deploymentDecider);
const NOW = '2026-01-01T00:00:00.000Z';
const NO_QUOTA = { maxReplicasPerService: null, maxTotalReplicas: null, cpuMillis: null, memoryMb: null };
const web = (image: string) => servicesOf([{ name: 'web', type: 'frontend', image, replicas: 2 }], NO_QUOTA);

function run(events: DeploymentEvent[], command: DeploymentCommand): DeploymentEvent[] {
  return [...events, ...deploymentDecider.decide(command, stateAfter(events))];
}
const deployed = (autoRollback: boolean) =>
  run([], {
    type: 'Deploy',
    data: {
      deploymentId: '00000000-0000-4000-8000-000000000001',
      name: 'shop',
      applicationId: 'shop',
      environment: { environmentId: 'e', type: 'production', orchestrator: 'docker', target: 'net' },
      version: '1',
      services: web('a:1'),
      policy: { autoRollback, selfHeal: true, progressDeadlineSeconds: 60 },
      reason: 'first',
      rolloutId: 'r1',
      now: NOW,
    },
  });
/** Completes every step of the current rollout. */
function succeed(events: DeploymentEvent[]): DeploymentEvent[] {
  let all = events;
  for (;;) {
    const state = stateAfter(all) as ExistingDeployment;
    const rollout = state.rollout;
    if (!rollout) return all;
    const step = rollout.steps.findIndex((_, i) => !rollout.done.includes(i));
    all = run(all, {
      type: 'CompleteStep',
      data: { rolloutId: rollout.rolloutId, step: Math.max(0, step), outcome: {}, now: NOW, services: [] },
    });
  }
}
const update = (events: DeploymentEvent[], image: string, rolloutId: string) =>
  run(events, { type: 'Update', data: { version: image, services: web(image), reason: 'up', rolloutId, now: NOW } });
const fail = (events: DeploymentEvent[]) => {
  const rollout = (stateAfter(events) as ExistingDeployment).rollout!;
  return run(events, {
    type: 'FailRollout',
    data: { rolloutId: rollout.rolloutId, step: 1, reason: 'late', services: [], rollbackRolloutId: 'rb', now: NOW },
  });
};

describe('deployment decider', () => {
  it('numbers releases and records what changed', () => {
    const events = update(succeed(deployed(false)), 'a:2', 'r2');
    const created = events.filter((e) => e.type === 'ReleaseCreated');
    expect(created.map((e) => e.data.release)).toEqual([1, 2]);
    expect(created[1]!.data.changes).toEqual(['web.image: "a:1" → "a:2"']);
  });

  it('a failed release rolls back to the live one only when the policy says so', () => {
    const withPolicy = fail(update(succeed(deployed(true)), 'a:2', 'r2'));
    expect(withPolicy.filter((e) => e.type === 'DeploymentRolledBack').map((e) => e.data)).toEqual([
      { fromRelease: 2, toRelease: 1, release: 3, automatic: true, reason: 'automatic: release 2 failed: late' },
    ]);
    const without = fail(update(succeed(deployed(false)), 'a:2', 'r2'));
    expect(without.some((e) => e.type === 'DeploymentRolledBack')).toBe(false);
    expect(stateAfter(without)).toMatchObject({ lastRollout: { outcome: 'failed' } });
  });

  it('an automatic rollback that fails too does not roll back again', () => {
    const events = fail(fail(update(succeed(deployed(true)), 'a:2', 'r2')));
    expect(events.filter((e) => e.type === 'DeploymentRolledBack')).toHaveLength(1);
  });

  it('rollback defaults to the previous good release and refuses a missing one, naming toRelease', () => {
    const events = succeed(update(succeed(deployed(false)), 'a:2', 'r2'));
    const back = run(events, { type: 'Rollback', data: { toRelease: null, reason: 'x', automatic: false, rolloutId: 'r3', now: NOW } });
    expect(back.find((e) => e.type === 'DeploymentRolledBack')!.data).toMatchObject({ fromRelease: 2, toRelease: 1 });
    given(...events)
      .when({ type: 'Rollback', data: { toRelease: 9, reason: 'x', automatic: false, rolloutId: 'r3', now: NOW } })
      .thenRefuses('deployment.release.not_found', 'not_found', 'toRelease');
  });

  it('a report about a superseded rollout changes nothing', () => {
    const events = update(update(succeed(deployed(false)), 'a:2', 'r2'), 'a:3', 'r3');
    given(...events)
      .when({ type: 'CompleteStep', data: { rolloutId: deterministicOld(events), step: 0, outcome: {}, now: NOW, services: [] } })
      .then([]);
  });

  it('scale of a stopped deployment is refused', () => {
    const events = run(succeed(deployed(false)), { type: 'Stop', data: { reason: 's', rolloutId: 'rs', now: NOW } });
    given(...events)
      .when({ type: 'Scale', data: { service: 'web', replicas: 3, reason: '', rolloutId: 'x', now: NOW } })
      .thenRefuses('deployment.stopped', 'conflict');
  });
});

const deterministicOld = (events: DeploymentEvent[]) => events.filter((e) => e.type === 'RolloutPlanned').at(-2)!.data.rolloutId as string;

describe('service rules', () => {
  it('accepts image references and refuses what is not one', () => {
    for (const ok of [
      'busybox',
      'localhost/busybox:latest',
      'registry.example.com:5000/team/app:1.2.3',
      'app@sha256:' + 'a'.repeat(64),
      'my_app/x-y__z:v1',
    ])
      expect(isImageReference(ok), ok).toBe(true);
    for (const bad of ['', 'Busybox', 'app:', 'app:tag:more', 'a b', '-app', 'app@sha256:xyz', 'UPPER/app'])
      expect(isImageReference(bad), bad).toBe(false);
  });

  it('names the field: port clashes, replicas below 0 and above the quota', () => {
    expect(
      refusal(() =>
        servicesOf([{ name: 'w', type: 'backend', image: 'a', ports: [{ containerPort: 80 }, { containerPort: 80 }] }], NO_QUOTA),
      ).field,
    ).toBe('services.0.ports.1.containerPort');
    expect(refusal(() => servicesOf([{ name: 'w', type: 'backend', image: 'a', replicas: -1 }], NO_QUOTA)).field).toBe(
      'services.0.replicas',
    );
    expect(
      refusal(() => servicesOf([{ name: 'w', type: 'backend', image: 'a', replicas: 4 }], { ...NO_QUOTA, maxReplicasPerService: 3 })),
    ).toMatchObject({ field: 'services.0.replicas', kind: 'unprocessable' });
    expect(
      refusal(() =>
        servicesOf(
          [
            { name: 'w', type: 'backend', image: 'a', replicas: 2 },
            { name: 'v', type: 'backend', image: 'a', replicas: 2 },
          ],
          { ...NO_QUOTA, maxTotalReplicas: 3 },
        ),
      ).field,
    ).toBe('services');
  });
});
