import type { EnvironmentSettings } from './environment-spec.js';

export type EnvironmentCommand =
  | { type: 'CreateEnvironment'; data: { environmentId: string; settings: EnvironmentSettings } }
  /** The complete settings after the change (the command layer merges a partial update into them). */
  | { type: 'UpdateEnvironment'; data: { settings: EnvironmentSettings } }
  /** `runningDeployments`: how many deployments still run in it (the deployments feature's census). */
  | { type: 'DeleteEnvironment'; data: { force: boolean; runningDeployments: number } }
  | { type: 'MarkEnvironmentFailed'; data: { reason: string } }
  | { type: 'ActivateEnvironment'; data: Record<string, never> }
  | { type: 'FinishEnvironmentDeletion'; data: Record<string, never> };
