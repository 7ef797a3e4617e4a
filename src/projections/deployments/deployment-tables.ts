/** The deployments read model: one row per deployment (with its folded state, so a read shows exactly
 * what the aggregate holds) and one per release. Tenant first in every key. */
export interface DeploymentRow {
  tenant_id: string;
  deployment_id: string;
  name: string;
  application_id: string;
  environment_id: string;
  version: string;
  status: string;
  current_release: number;
  live_release: number | null;
  /** Replicas the current release asks for, all services together (environment quotas). */
  replicas: number;
  /** The folded ExistingDeployment as JSON. */
  state: string;
  revision: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

export interface ReleaseRow {
  tenant_id: string;
  deployment_id: string;
  release: number;
  version: string;
  kind: string;
  automatic: boolean;
  rollback_to: number | null;
  reason: string;
  changes: string;
  services: string;
  outcome: string;
  failure: string | null;
  created_by: string;
  created_at: Date;
}

export interface DeploymentTables {
  deployments: DeploymentRow;
  releases: ReleaseRow;
}
