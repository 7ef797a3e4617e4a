// Issue #15 item 14: the status follows what the orchestrator was seen doing. A manual rollback is
// `rolled_back` until a later stop/start or restart went well (then `running`); a stop is `deploying` while
// its instances still run, and each service shows 0 ready as soon as its stop step observed it stopped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deploymentDecider,
  servicesOf,
  statusOf,
  type DeploymentCommand,
  type DeploymentEvent,
  type ExistingDeployment,
  type ServiceReplicas,
} from '../../../src/domain/deployments/index.js';
import type { JsonObject } from '../../../src/domain/json.js';
import { deciderSpec } from '../../support/decider-spec.js';

const { stateAfter } = deciderSpec(deploymentDecider);
const NOW = '2026-01-01T00:00:00.000Z';
const NO_QUOTA = { maxReplicasPerService: null, maxTotalReplicas: null, cpuMillis: null, memoryMb: null };
const spec = (image: string) => servicesOf([{ name: 'web', type: 'frontend', image, replicas: 2 }], NO_QUOTA);
const state = (events: DeploymentEvent[]) => stateAfter(events) as ExistingDeployment;
const run = (events: DeploymentEvent[], command: DeploymentCommand) => [...events, ...deploymentDecider.decide(command, state(events))];
let ids = 0;
const rolloutId = () => `r${++ids}`;

/** Completes the current rollout's steps, each observing `ready` of every service. */
function finish(events: DeploymentEvent[], ready = 2): DeploymentEvent[] {
  let all = events;
  for (;;) {
    const rollout = state(all).rollout;
    if (!rollout) return all;
    const step = Math.max(
      0,
      rollout.steps.findIndex((_, i) => !rollout.done.includes(i)),
    );
    const kind = rollout.steps[step]?.kind;
    const services: ServiceReplicas[] = [{ service: 'web', desired: 2, ready, available: ready }];
    const outcome = (kind === 'waitHealthy' || kind === 'stop' ? { services } : {}) as unknown as JsonObject;
    all = run(all, { type: 'CompleteStep', data: { rolloutId: rollout.rolloutId, step, outcome, now: NOW, services } });
  }
}

const deployed = () =>
  finish(
    run([], {
      type: 'Deploy',
      data: {
        deploymentId: '00000000-0000-4000-8000-000000000001',
        name: 'shop',
        applicationId: 'shop',
        environment: { environmentId: 'e', type: 'staging', orchestrator: 'docker', target: 'net' },
        version: '1',
        services: spec('a:1'),
        policy: { autoRollback: false, selfHeal: true, progressDeadlineSeconds: 60 },
        reason: 'first',
        rolloutId: rolloutId(),
        now: NOW,
      },
    }),
  );
const update = (events: DeploymentEvent[], image: string) =>
  finish(run(events, { type: 'Update', data: { version: image, services: spec(image), reason: 'up', rolloutId: rolloutId(), now: NOW } }));
const rollback = (events: DeploymentEvent[]) =>
  finish(
    run(events, { type: 'Rollback', data: { toRelease: null, reason: 'manual', automatic: false, rolloutId: rolloutId(), now: NOW } }),
  );
const lifecycle = (events: DeploymentEvent[], type: 'Stop' | 'Start' | 'Restart') =>
  run(events, {
    type,
    data: { reason: type, rolloutId: rolloutId(), now: NOW, ...(type === 'Restart' ? { services: null } : {}) },
  } as DeploymentCommand);

describe('status after manual actions', () => {
  it('a manual rollback is rolled_back; after a stop and a start that went well it is running', () => {
    const back = rollback(update(deployed(), 'a:2'));
    expect(statusOf(state(back))).toBe('rolled_back');
    const stopped = finish(lifecycle(back, 'Stop'), 0);
    expect(statusOf(state(stopped))).toBe('stopped');
    const started = lifecycle(stopped, 'Start');
    expect(statusOf(state(started))).toBe('deploying');
    expect(statusOf(state(finish(started)))).toBe('running');
    expect(statusOf(state(finish(lifecycle(back, 'Restart'))))).toBe('running');
  });

  it('a stop is deploying while its instances run, then stopped with 0 ready as observed', () => {
    const stopping = lifecycle(deployed(), 'Stop');
    expect(statusOf(state(stopping))).toBe('deploying');
    expect(state(stopping).replicas).toEqual([{ service: 'web', desired: 2, ready: 2, available: 2 }]);
    const stopped = finish(stopping, 0);
    expect(statusOf(state(stopped))).toBe('stopped');
    expect(state(stopped).replicas).toEqual([{ service: 'web', desired: 2, ready: 0, available: 0 }]);
  });

  it('whatever manual actions follow a rollback, the status is rolled_back only while the rollback was the last rollout (fast-check)', () => {
    const action = fc.constantFrom('Stop', 'Start', 'Restart', 'Update', 'Rollback');
    fc.assert(
      fc.property(fc.array(action, { maxLength: 6 }), (actions) => {
        let events = rollback(update(deployed(), 'a:2'));
        for (const [index, a] of actions.entries()) {
          const current = state(events);
          if (a === 'Update') {
            if (current.stopped) continue;
            events = update(events, `a:${index + 3}`);
          } else if (a === 'Rollback') {
            if (current.stopped) continue;
            events = rollback(events);
          } else {
            if (a === 'Restart' && current.stopped) continue;
            events = finish(lifecycle(events, a), a === 'Stop' ? 0 : 2);
          }
        }
        const final = state(events);
        const expected = final.stopped
          ? 'stopped'
          : final.releases.at(-1)!.kind === 'rollback' && final.lastRollout?.operation === 'release'
            ? 'rolled_back'
            : 'running';
        expect(statusOf(final)).toBe(expected);
        // A stopped deployment never shows ready replicas once its stop was observed.
        if (final.stopped) expect(final.replicas.every((r) => r.ready === 0)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
