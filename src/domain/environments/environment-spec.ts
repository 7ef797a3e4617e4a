// What an environment is configured with, and the rules its settings obey (the HTTP schemas check shapes;
// these check meanings and cross-field rules, so every path into the aggregate is held to them).
import { RuleViolation } from '../rule-violation.js';

export const ENVIRONMENT_TYPES = ['development', 'staging', 'production', 'testing'] as const;
export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];
export const ORCHESTRATOR_KINDS = ['docker', 'kubernetes'] as const;
export type EnvironmentOrchestrator = (typeof ORCHESTRATOR_KINDS)[number];
export const LOAD_BALANCER_TYPES = ['none', 'clusterip', 'nodeport', 'loadbalancer'] as const;
export const ENVIRONMENT_NAME_MAX = 100;
export const QUOTA_LIMITS = { maxReplicasPerService: 1000, maxTotalReplicas: 100_000, cpuMillis: 10_000_000, memoryMb: 100_000_000 };

/** RFC 1123 label: what Kubernetes accepts as a namespace and Docker as a portable network name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: dotted labels, at most 253 characters (host names, service accounts, config names). */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type EnvironmentFlags = {
  autoScale: boolean;
  monitoring: boolean;
  logging: boolean;
  backup: boolean;
};

export type EnvironmentQuotas = {
  maxReplicasPerService?: number;
  maxTotalReplicas?: number;
  cpuMillis?: number;
  memoryMb?: number;
};

export type EnvironmentNetworking = {
  ingressHost?: string;
  tls?: boolean;
  loadBalancer?: (typeof LOAD_BALANCER_TYPES)[number];
  dns?: string;
};

export type NetworkPolicyRule = {
  name: string;
  from?: string[];
  ports?: number[];
};

export type EnvironmentSecurity = {
  serviceAccount?: string;
  roles?: string[];
  networkPolicies?: NetworkPolicyRule[];
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
};

/** Everything about an environment that a client sets. */
export type EnvironmentSettings = {
  name: string;
  type: EnvironmentType;
  orchestrator: EnvironmentOrchestrator;
  /** Kubernetes namespace or Docker network. */
  target: string;
  flags: EnvironmentFlags;
  quotas: EnvironmentQuotas;
  networking: EnvironmentNetworking;
  security: EnvironmentSecurity;
};

export const DEFAULT_FLAGS: EnvironmentFlags = { autoScale: false, monitoring: true, logging: true, backup: false };

const invalid = (rule: string, message: string, field: string) => new RuleViolation(rule, message, 'invalid', field);

/** A target from a name when the client gives none: lowercase, non-label characters to dashes. */
export function defaultTarget(name: string, environmentId: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return DNS_LABEL.test(slug) ? slug : `env-${environmentId.slice(0, 8)}`;
}

/** Refuses settings that break a rule; returns them with the name trimmed. */
export function validSettings(settings: EnvironmentSettings): EnvironmentSettings {
  const name = settings.name.trim();
  if (name.length < 1 || name.length > ENVIRONMENT_NAME_MAX)
    throw invalid('environment.name.length', `name must be 1–${ENVIRONMENT_NAME_MAX} characters`, 'name');
  if (!ENVIRONMENT_TYPES.includes(settings.type))
    throw invalid('environment.type.enum', `type must be one of ${ENVIRONMENT_TYPES.join(', ')}`, 'type');
  if (!ORCHESTRATOR_KINDS.includes(settings.orchestrator))
    throw invalid('environment.orchestrator.enum', `orchestrator must be one of ${ORCHESTRATOR_KINDS.join(', ')}`, 'orchestrator');
  if (!DNS_LABEL.test(settings.target))
    throw invalid(
      'environment.target.dns_label',
      'target must be a DNS label: 1–63 lowercase letters, digits and dashes, alphanumeric at both ends',
      'target',
    );
  for (const [key, limit] of Object.entries(QUOTA_LIMITS)) {
    const value = settings.quotas[key as keyof EnvironmentQuotas];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > limit))
      throw invalid('environment.quotas.range', `${key} must be an integer from 1 to ${limit}`, `quotas.${key}`);
  }
  const { maxReplicasPerService, maxTotalReplicas } = settings.quotas;
  if (maxReplicasPerService !== undefined && maxTotalReplicas !== undefined && maxReplicasPerService > maxTotalReplicas)
    throw invalid('environment.quotas.order', 'maxReplicasPerService cannot exceed maxTotalReplicas', 'quotas.maxReplicasPerService');
  const { ingressHost, tls, dns } = settings.networking;
  if (ingressHost !== undefined && !DNS_SUBDOMAIN.test(ingressHost))
    throw invalid('environment.networking.host', 'ingressHost must be a lowercase DNS name', 'networking.ingressHost');
  if (tls && ingressHost === undefined)
    throw invalid('environment.networking.tls_needs_host', 'tls needs an ingressHost', 'networking.tls');
  if (dns !== undefined && !DNS_SUBDOMAIN.test(dns))
    throw invalid('environment.networking.dns', 'dns must be a lowercase DNS name', 'networking.dns');
  const { serviceAccount, networkPolicies = [], roles = [] } = settings.security;
  if (serviceAccount !== undefined && !DNS_SUBDOMAIN.test(serviceAccount))
    throw invalid('environment.security.service_account', 'serviceAccount must be a lowercase DNS name', 'security.serviceAccount');
  roles.forEach((role, i) => {
    if (!DNS_SUBDOMAIN.test(role)) throw invalid('environment.security.role', 'a role must be a lowercase DNS name', `security.roles.${i}`);
  });
  const policyNames = new Set<string>();
  networkPolicies.forEach((policy, i) => {
    if (!DNS_LABEL.test(policy.name))
      throw invalid('environment.security.policy_name', 'a network policy name must be a DNS label', `security.networkPolicies.${i}.name`);
    if (policyNames.has(policy.name))
      throw invalid('environment.security.policy_unique', 'network policy names must be unique', `security.networkPolicies.${i}.name`);
    policyNames.add(policy.name);
    (policy.ports ?? []).forEach((port, j) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw invalid('environment.security.port', 'a port must be 1–65535', `security.networkPolicies.${i}.ports.${j}`);
    });
  });
  return { ...settings, name };
}
