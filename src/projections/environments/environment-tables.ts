// The environments feature's read models: one row per environment, config (values only for configmap and
// environment types: a secret's row holds its keys, never a value or its ciphertext), config version and
// config template. Tenant first in every key.
import type {
  EnvironmentFlags,
  EnvironmentNetworking,
  EnvironmentQuotas,
  EnvironmentSecurity,
  VariableSpec,
} from '../../domain/environments/index.js';

interface Audit {
  revision: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

export interface EnvironmentRow extends Audit {
  tenant_id: string;
  environment_id: string;
  name: string;
  type: string;
  orchestrator: string;
  target: string;
  status: string;
  reason: string | null;
  flags: EnvironmentFlags;
  quotas: EnvironmentQuotas;
  networking: EnvironmentNetworking;
  security: EnvironmentSecurity;
}

export interface ConfigRow extends Audit {
  tenant_id: string;
  config_id: string;
  name: string;
  environment_id: string | null;
  type: string;
  version: number;
  roll_services: boolean;
  keys: string[];
  /** Null for a secret. */
  data: Record<string, string> | null;
}

export interface ConfigVersionRow {
  tenant_id: string;
  config_id: string;
  version: number;
  roll_services: boolean;
  keys: string[];
  data: Record<string, string> | null;
  created_at: Date;
  created_by: string;
}

export interface ConfigTemplateRow extends Audit {
  tenant_id: string;
  template_id: string;
  name: string;
  description: string;
  config_type: string;
  variables: VariableSpec[];
  data: Record<string, string>;
}

export interface EnvironmentTables {
  environments: EnvironmentRow;
  configs: ConfigRow;
  config_versions: ConfigVersionRow;
  config_templates: ConfigTemplateRow;
}
