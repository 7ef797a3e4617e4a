import type { EnvironmentSettings } from './environment-spec.js';

type Settings = EnvironmentSettings;

export type EnvironmentEvent =
  | { type: 'EnvironmentCreated'; data: { environmentId: string; settings: Settings } }
  | { type: 'EnvironmentUpdated'; data: { environmentId: string; settings: Settings; changed: string[] } }
  /** The orchestrator work for the environment failed (recorded by whoever did it, e.g. the reconciler). */
  | { type: 'EnvironmentFailed'; data: { environmentId: string; reason: string } }
  /** Back to usable after `creating`, `updating` or `failed`. */
  | { type: 'EnvironmentActivated'; data: { environmentId: string } }
  /** A forced delete while deployments still run: they are torn down before EnvironmentDeleted. */
  | { type: 'EnvironmentDeletionStarted'; data: { environmentId: string; name: string; force: boolean; runningDeployments: number } }
  | { type: 'EnvironmentDeleted'; data: { environmentId: string; name: string; force: boolean; runningDeployments: number } };

export const ENVIRONMENT_EVENT_TYPES: readonly EnvironmentEvent['type'][] = [
  'EnvironmentCreated',
  'EnvironmentUpdated',
  'EnvironmentFailed',
  'EnvironmentActivated',
  'EnvironmentDeletionStarted',
  'EnvironmentDeleted',
];
