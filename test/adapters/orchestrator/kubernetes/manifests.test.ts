// The Kubernetes manifests are pure functions of the port's types: each seed option (section 14.4 and the
// Kubernetes configuration manager: ingress with and without TLS, load balancer types, DNS, RBAC service
// account and roles, network policy rules, pod security; volumes of each kind, resources, HTTP and command
// health checks) is validated offline against the Kubernetes schemas (kubernetes-models) and snapshotted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { environmentManifests, networkPeer } from '../../../../src/adapters/orchestrator/kubernetes/environment-manifests.js';
import { serviceManifests } from '../../../../src/adapters/orchestrator/kubernetes/service-manifests.js';
import type { DeploymentTarget, EnvironmentTarget, ResolvedService } from '../../../../src/ports/orchestrator.js';

const environment: EnvironmentTarget = {
  tenantId: 'acme',
  environmentId: '7b0c3c0e-4a52-4d4e-9d43-0f3a3c1d2e11',
  target: 'acme-staging',
};
const deployment = (env: EnvironmentTarget = environment): DeploymentTarget => ({
  ...env,
  deploymentId: '0d9f8e7a-1b2c-4d3e-8f90-a1b2c3d4e5f6',
  deploymentName: 'Shop',
});
const service = (overrides: Partial<ResolvedService> = {}): ResolvedService => ({
  name: 'api',
  type: 'backend',
  image: 'registry.example.com/shop/api:1.4.2',
  replicas: 2,
  release: 3,
  ports: [{ containerPort: 8080, protocol: 'tcp' }],
  env: { NODE_ENV: 'production' },
  volumes: [],
  ...overrides,
});

type Validatable = { validate(): void; toJSON(): unknown; metadata?: { name?: string } };
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates each object against its schema and returns the plain JSON the API server would be sent. */
function checked(manifests: readonly Validatable[]): unknown[] {
  return manifests.map((manifest) => {
    manifest.validate();
    expect(manifest.metadata?.name).toMatch(DNS_SUBDOMAIN);
    return JSON.parse(JSON.stringify(manifest.toJSON()));
  });
}

describe('environment manifests', () => {
  it('a bare environment is a labelled namespace at the baseline pod security level', () => {
    expect(checked(environmentManifests(environment))).toMatchSnapshot();
  });

  it('RBAC: a service account with a binding per role (viewer, editor, a custom name with the read-only default)', () => {
    const manifests = checked(
      environmentManifests({ ...environment, security: { serviceAccount: 'shop-runner', roles: ['viewer', 'editor', 'Deployers'] } }),
    );
    expect(manifests.map((m) => (m as { kind: string }).kind)).toEqual([
      'Namespace',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Role',
      'RoleBinding',
      'Role',
      'RoleBinding',
    ]);
    expect(manifests).toMatchSnapshot();
  });

  it('network policies: namespaces, pod labels and ports', () => {
    const security: EnvironmentTarget['security'] = {
      networkPolicies: [
        { name: 'from-ingress', from: ['namespace:ingress-nginx'], ports: [80, 443] },
        { name: 'from-frontend', from: ['kyo.dev/service=web', 'monitoring'] },
        { name: 'open-metrics', ports: [9090] },
      ],
    };
    expect(checked(environmentManifests({ ...environment, security }))).toMatchSnapshot();
    expect(networkPeer('app=web')).toEqual({ podSelector: { matchLabels: { app: 'web' } } });
  });

  it('pod security: non-root without privilege escalation enforces the restricted level', () => {
    const [namespace] = checked(
      environmentManifests({
        ...environment,
        security: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      }),
    ) as { metadata: { labels: Record<string, string> } }[];
    expect(namespace!.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const [relaxed] = checked(environmentManifests({ ...environment, security: { runAsNonRoot: true } })) as (typeof namespace)[];
    expect(relaxed!.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
  });
});

describe('service manifests', () => {
  it('a backend release: Deployment of its own release, ClusterIP Service over every release', () => {
    expect(checked(serviceManifests(deployment(), service()))).toMatchSnapshot();
  });

  it('volumes of each kind, resources and an HTTP health check', () => {
    const manifests = serviceManifests(
      deployment(),
      service({
        resources: { cpuMillis: 500, memoryMb: 256 },
        healthCheck: {
          http: { path: '/healthz', port: 8080 },
          intervalSeconds: 10,
          timeoutSeconds: 2,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        volumes: [
          { name: 'app-config', kind: 'configmap', mountPath: '/etc/app', files: { 'app.yaml': 'mode: production\n' } },
          { name: 'db-credentials', kind: 'secret', mountPath: '/run/secrets/db', files: { password: 'pa55word' } },
          { name: 'data', kind: 'persistent', mountPath: '/var/lib/data', size: '5Gi' },
          { name: 'tmp', kind: 'emptydir', mountPath: '/tmp' },
        ],
      }),
    );
    const json = checked(manifests);
    expect(json.map((m) => (m as { kind: string }).kind)).toEqual([
      'ConfigMap',
      'Secret',
      'PersistentVolumeClaim',
      'Deployment',
      'Service',
    ]);
    // The secret travels base64-encoded in `data`, never as plain `stringData`.
    expect(JSON.stringify(json)).not.toContain('pa55word');
    expect(json).toMatchSnapshot();
  });

  it('a command health check and no ports: exec probes, no Service', () => {
    const json = checked(
      serviceManifests(
        deployment(),
        service({
          name: 'worker',
          type: 'queue',
          ports: [],
          command: ['node', 'worker.js'],
          healthCheck: { command: ['/bin/check'], intervalSeconds: 5, timeoutSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 2 },
        }),
      ),
    );
    expect(json.map((m) => (m as { kind: string }).kind)).toEqual(['Deployment']);
    expect(json).toMatchSnapshot();
  });

  it('pod security options reach the pod and container security contexts', () => {
    const strict = deployment({
      ...environment,
      security: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, serviceAccount: 'shop-runner' },
    });
    expect(checked(serviceManifests(strict, service()))).toMatchSnapshot();
  });

  for (const loadBalancer of ['clusterip', 'nodeport', 'loadbalancer'] as const) {
    it(`a frontend with the ${loadBalancer} load balancer and an ingress with TLS`, () => {
      const env: EnvironmentTarget = { ...environment, networking: { ingressHost: 'shop.example.com', tls: true, loadBalancer } };
      const json = checked(
        serviceManifests(deployment(env), service({ name: 'web', type: 'frontend', ports: [{ containerPort: 80, protocol: 'tcp' }] })),
      );
      expect(json).toMatchSnapshot();
    });
  }

  it('an ingress host from the DNS domain, without TLS', () => {
    const env: EnvironmentTarget = { ...environment, networking: { dns: 'apps.example.com' } };
    const json = checked(
      serviceManifests(deployment(env), service({ name: 'web', type: 'frontend', ports: [{ containerPort: 80, protocol: 'tcp' }] })),
    );
    const ingress = json.find((m) => (m as { kind: string }).kind === 'Ingress') as { spec: { rules: { host: string }[]; tls?: unknown } };
    expect(ingress.spec.rules[0]!.host).toBe('shop.apps.example.com');
    expect(ingress.spec.tls).toBeUndefined();
  });

  it('names are valid Kubernetes names for any deployment and service name', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/),
        fc.nat(100_000),
        (name, serviceName, release) => {
          const manifests = serviceManifests({ ...deployment(), deploymentName: name }, service({ name: serviceName, release }));
          for (const manifest of manifests) {
            manifest.validate();
            expect(manifest.metadata?.name).toMatch(DNS_SUBDOMAIN);
            if (manifest.kind === 'Service' || manifest.kind === 'Deployment')
              expect(manifest.metadata!.name!.replace(/-r\d+$/, '')).toMatch(DNS_LABEL);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
