// Deployment commands. Times come in the command (`now`): the decider has no clock. Services arrive
// validated (servicesOf) by the command layer, which knows the environment's quotas.
import type { JsonObject } from '../json.js';
import type { DeploymentPolicy, DriftFinding, ServiceReplicas } from './deployment-events.js';
import type { ServiceSpec } from './deployment-spec.js';

export type DeploymentCommand =
  | {
      type: 'Deploy';
      data: {
        deploymentId: string;
        name: string;
        applicationId: string;
        environment: { environmentId: string; type: string; orchestrator: 'docker' | 'kubernetes'; target: string };
        version: string;
        services: ServiceSpec[];
        policy: DeploymentPolicy;
        reason: string;
        rolloutId: string;
        now: string;
      };
    }
  | { type: 'Update'; data: { version: string; services: ServiceSpec[]; reason: string; rolloutId: string; now: string } }
  | { type: 'Rollback'; data: { toRelease: number | null; reason: string; automatic: boolean; rolloutId: string; now: string } }
  | { type: 'Scale'; data: { service: string; replicas: number; reason: string; rolloutId: string; now: string } }
  | { type: 'Stop'; data: { reason: string; rolloutId: string; now: string } }
  | { type: 'Start'; data: { reason: string; rolloutId: string; now: string } }
  | { type: 'Restart'; data: { services: string[] | null; reason: string; rolloutId: string; now: string } }
  | { type: 'Delete'; data: { reason: string; rolloutId: string; now: string } }
  | { type: 'CompleteStep'; data: { rolloutId: string; step: number; outcome: JsonObject; now: string; services: ServiceReplicas[] } }
  | {
      type: 'FailRollout';
      data: { rolloutId: string; step: number; reason: string; services: ServiceReplicas[]; rollbackRolloutId: string; now: string };
    }
  | { type: 'RecordDrift'; data: { findings: DriftFinding[] } };
