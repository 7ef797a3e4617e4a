// Pure: the Kubernetes objects of an environment — its namespace (with the Pod Security admission level its
// security settings ask for), service account, roles and their bindings, and network policies. Every object
// carries the managed-by/tenant/environment labels; kubernetes-models validates them offline.
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { EnvironmentTarget } from '../../../ports/orchestrator.js';
import { environmentLabels, slug, targetName } from '../naming.js';

export type EnvironmentManifest = Namespace | ServiceAccount | Role | RoleBinding | NetworkPolicy;

/** `restricted` when pods must run as non-root without privilege escalation; `baseline` otherwise. */
export const podSecurityLevel = (environment: EnvironmentTarget): 'restricted' | 'baseline' =>
  environment.security?.runAsNonRoot && environment.security.allowPrivilegeEscalation === false ? 'restricted' : 'baseline';

/** What a named role may do: `viewer` reads, `editor` also changes, `admin` everything in the namespace. */
const ROLE_RULES: Readonly<Record<string, { apiGroups: string[]; resources: string[]; verbs: string[] }[]>> = {
  viewer: [{ apiGroups: ['', 'apps'], resources: ['pods', 'services', 'configmaps', 'deployments'], verbs: ['get', 'list', 'watch'] }],
  editor: [
    {
      apiGroups: ['', 'apps'],
      resources: ['pods', 'services', 'configmaps', 'deployments'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    },
  ],
  admin: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
};

/** A role name without rules of its own reads pods and services (the seed's default). */
const DEFAULT_RULES = [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] }];

/**
 * A `from` entry of a network policy: `namespace:<name>` admits a namespace, `<key>=<value>` pods with that
 * label in the environment, anything else is a namespace name.
 */
export function networkPeer(from: string): {
  namespaceSelector?: { matchLabels: Record<string, string> };
  podSelector?: { matchLabels: Record<string, string> };
} {
  if (from.startsWith('namespace:'))
    return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from.slice('namespace:'.length) } } };
  const equals = from.indexOf('=');
  if (equals > 0) return { podSelector: { matchLabels: { [from.slice(0, equals)]: from.slice(equals + 1) } } };
  return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from } } };
}

export function environmentManifests(environment: EnvironmentTarget): EnvironmentManifest[] {
  const namespace = targetName(environment);
  const labels = environmentLabels(environment);
  const level = podSecurityLevel(environment);
  const security = environment.security ?? {};
  const manifests: EnvironmentManifest[] = [
    new Namespace({
      metadata: {
        name: namespace,
        labels: {
          ...labels,
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    }),
  ];
  const account = security.serviceAccount;
  if (account) {
    manifests.push(
      new ServiceAccount({
        metadata: { name: account, namespace, labels },
        automountServiceAccountToken: (security.roles ?? []).length > 0,
      }),
    );
  }
  for (const role of security.roles ?? []) {
    const name = `kyo-${slug(role, 50)}`;
    manifests.push(new Role({ metadata: { name, namespace, labels }, rules: ROLE_RULES[role] ?? DEFAULT_RULES }));
    manifests.push(
      new RoleBinding({
        metadata: { name: `${name}-binding`, namespace, labels },
        subjects: [{ kind: 'ServiceAccount', name: account ?? 'default', namespace }],
        roleRef: { kind: 'Role', name, apiGroup: 'rbac.authorization.k8s.io' },
      }),
    );
  }
  for (const policy of security.networkPolicies ?? []) {
    manifests.push(
      new NetworkPolicy({
        metadata: { name: `kyo-${slug(policy.name, 50)}`, namespace, labels },
        spec: {
          podSelector: {},
          policyTypes: ['Ingress'],
          ingress: [
            {
              ...(policy.from && policy.from.length > 0 ? { from: policy.from.map(networkPeer) } : {}),
              ...(policy.ports && policy.ports.length > 0 ? { ports: policy.ports.map((port) => ({ port, protocol: 'TCP' })) } : {}),
            },
          ],
        },
      }),
    );
  }
  return manifests;
}
