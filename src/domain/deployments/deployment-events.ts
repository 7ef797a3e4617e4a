// The deployment stream is its release history: every spec change is a ReleaseCreated (who and when are
// in the metadata, what changed and why in the data), and every reconcile step's outcome is an event too.
import type { JsonObject } from '../json.js';
import type { PlanStep, RolloutOperation } from './deployment-plan.js';
import type { ServiceSpec } from './deployment-spec.js';

export const RELEASE_KINDS = ['deploy', 'update', 'scale', 'rollback'] as const;
export type ReleaseKind = (typeof RELEASE_KINDS)[number];

export type DeploymentPolicy = {
  /** Redeploy the previous good release when a release fails its health gate (default on in production). */
  autoRollback: boolean;
  /** Correct drift found by the periodic check. */
  selfHeal: boolean;
  /** A rollout is failed when its services are not all healthy this long after it started. */
  progressDeadlineSeconds: number;
};

export type DriftFinding = {
  service: string;
  kind: 'missing' | 'extra' | 'wrong_image' | 'wrong_replicas' | 'unhealthy';
  expected: string;
  observed: string;
};

export type ServiceReplicas = { service: string; desired: number; ready: number; available: number };

export type DeploymentEvent =
  | {
      type: 'DeploymentCreated';
      data: {
        deploymentId: string;
        name: string;
        applicationId: string;
        environmentId: string;
        environmentType: string;
        orchestrator: 'docker' | 'kubernetes';
        target: string;
        policy: DeploymentPolicy;
      };
    }
  | {
      type: 'ReleaseCreated';
      data: {
        release: number;
        version: string;
        kind: ReleaseKind;
        services: ServiceSpec[];
        /** Rollbacks: the release whose spec this one restores. */
        rollbackTo: number | null;
        automatic: boolean;
        reason: string;
        changes: string[];
      };
    }
  | { type: 'DeploymentRolledBack'; data: { fromRelease: number; toRelease: number; release: number; automatic: boolean; reason: string } }
  | { type: 'DeploymentStopped'; data: { reason: string } }
  | { type: 'DeploymentStarted'; data: { reason: string } }
  | { type: 'DeploymentRestarted'; data: { services: string[]; reason: string } }
  | { type: 'DeploymentDeleted'; data: { reason: string } }
  | {
      type: 'RolloutPlanned';
      data: { rolloutId: string; release: number; operation: RolloutOperation; steps: PlanStep[]; startedAt: string; deadlineAt: string };
    }
  | {
      type: 'RolloutStepCompleted';
      data: { rolloutId: string; step: number; kind: PlanStep['kind']; next: number | null; outcome: JsonObject };
    }
  | {
      type: 'RolloutSucceeded';
      data: { rolloutId: string; release: number; operation: RolloutOperation; durationMs: number; services: ServiceReplicas[] };
    }
  | {
      type: 'RolloutFailed';
      data: { rolloutId: string; release: number; operation: RolloutOperation; step: number; reason: string; services: ServiceReplicas[] };
    }
  | { type: 'DriftDetected'; data: { findings: DriftFinding[]; selfHeal: boolean } }
  | { type: 'DriftResolved'; data: { corrected: boolean } };

export const DEPLOYMENT_EVENT_TYPES: readonly DeploymentEvent['type'][] = [
  'DeploymentCreated',
  'ReleaseCreated',
  'DeploymentRolledBack',
  'DeploymentStopped',
  'DeploymentStarted',
  'DeploymentRestarted',
  'DeploymentDeleted',
  'RolloutPlanned',
  'RolloutStepCompleted',
  'RolloutSucceeded',
  'RolloutFailed',
  'DriftDetected',
  'DriftResolved',
];
