// Names and labels both orchestrator adapters give what they create. Labels carry the identity (tenant,
// environment, deployment, service, release, replica), so observing is a label query; names are deterministic,
// so a caller that crashed and calls again finds what it created instead of creating it twice.
import { createHash } from 'node:crypto';
import type { DeploymentTarget, EnvironmentTarget, ResolvedService } from '../../ports/orchestrator.js';

export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  tenant: 'kyo.dev/tenant',
  environment: 'kyo.dev/environment',
  deployment: 'kyo.dev/deployment',
  service: 'kyo.dev/service',
  release: 'kyo.dev/release',
  replica: 'kyo.dev/replica',
  /** Fingerprint of what an instance was created from: a changed spec under the same release is recreated. */
  spec: 'kyo.dev/spec',
} as const;

export const MANAGER = 'kyo';

const hash = (...parts: readonly string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** Lowercase letters, digits and dashes, at most `max` characters, never empty (a DNS-1123 label part). */
export const slug = (text: string, max = 20): string => {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, max)
    .replace(/-$/, '');
  return cleaned === '' ? 'x' : cleaned;
};

/** Ten hex digits naming one (tenant, environment, deployment): keeps names unique across tenants. */
export const deploymentKey = (deployment: DeploymentTarget): string =>
  hash(deployment.tenantId, deployment.environmentId, deployment.deploymentId).slice(0, 10);

/**
 * The name of an environment's network (Docker) or namespace (Kubernetes) in the orchestrator: its configured
 * target, then ten hex digits of (tenant, target). Two tenants' "production" are two networks by construction
 * (a clash needs 40 bits of SHA-256 to collide), so nobody meets another tenant's network at deploy time;
 * the same environment always gets the same name (a retry finds what it made). Targets longer than 52
 * characters are cut (the hash covers the whole target): at most 63 characters, a DNS label (the target is one).
 */
export const targetName = (environment: Pick<EnvironmentTarget, 'tenantId' | 'target'>): string =>
  `${environment.target.slice(0, 52).replace(/-+$/, '')}-${hash('target', environment.tenantId, environment.target).slice(0, 10)}`;

export const environmentLabels = (environment: EnvironmentTarget): Record<string, string> => ({
  [LABEL.managedBy]: MANAGER,
  [LABEL.tenant]: environment.tenantId,
  [LABEL.environment]: environment.environmentId,
});

export const serviceLabels = (deployment: DeploymentTarget, service: string): Record<string, string> => ({
  ...environmentLabels(deployment),
  [LABEL.deployment]: deployment.deploymentId,
  [LABEL.service]: service,
});

/** The spec's fingerprint without the replica count (scaling keeps the instances that exist). */
export const specFingerprint = (service: ResolvedService): string => {
  const { replicas: _replicas, ...rest } = service;
  return hash(stableJson(rest)).slice(0, 16);
};

/** A stable JSON fingerprint: keys sorted at every depth. */
export const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
