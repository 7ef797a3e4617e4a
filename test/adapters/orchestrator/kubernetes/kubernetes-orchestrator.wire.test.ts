// No Kubernetes API server runs here, so this checks what the adapter sends to one: a small HTTP server answers
// the discovery and object paths @kubernetes/client-node uses and records the requests. It proves the client
// loads on this Node version, that objects go out as server-side apply (field manager `kyo`, forced), that a
// namespace of the environment's name made outside the service is refused, and how pods and Deployment conditions become instances.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesOrchestrator } from '../../../../src/adapters/orchestrator/kubernetes/kubernetes-orchestrator.js';
import { targetName } from '../../../../src/adapters/orchestrator/naming.js';
import type { DeploymentTarget } from '../../../../src/ports/orchestrator.js';
import { contractService } from '../orchestrator-contract.js';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

const resources: Record<string, [string, string, boolean][]> = {
  '/api/v1': [
    ['namespaces', 'Namespace', false],
    ['services', 'Service', true],
    ['configmaps', 'ConfigMap', true],
    ['secrets', 'Secret', true],
    ['persistentvolumeclaims', 'PersistentVolumeClaim', true],
    ['serviceaccounts', 'ServiceAccount', true],
    ['pods', 'Pod', true],
  ],
  '/apis/apps/v1': [['deployments', 'Deployment', true]],
  '/apis/networking.k8s.io/v1': [
    ['ingresses', 'Ingress', true],
    ['networkpolicies', 'NetworkPolicy', true],
  ],
  '/apis/rbac.authorization.k8s.io/v1': [
    ['roles', 'Role', true],
    ['rolebindings', 'RoleBinding', true],
  ],
};

const deployment: DeploymentTarget = {
  tenantId: 'acme',
  environmentId: 'env-1',
  target: 'acme-staging',
  deploymentId: 'dep-1',
  deploymentName: 'shop',
  security: { serviceAccount: 'runner', roles: ['viewer'], networkPolicies: [{ name: 'web', ports: [80] }] },
};
/** The namespace the environment gets: its target made unique across tenants. */
const NS = targetName(deployment);

describe('Kubernetes adapter on the wire (a recording API server)', () => {
  let server: Server;
  let dir: string;
  const recorded: Recorded[] = [];
  let namespaceLabels: Record<string, string> | undefined;
  let pods: unknown[] = [];
  let deployments: unknown[] = [];

  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => resolve(text));
    });

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const text = await readBody(request);
      recorded.push({
        method: request.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        contentType: request.headers['content-type'],
        body: text ? JSON.parse(text) : undefined,
      });
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (url.pathname === '/version') return send(200, { major: '1', minor: '30', gitVersion: 'v1.30.0-recorded' });
      const group = resources[url.pathname];
      if (group && request.method === 'GET') {
        return send(200, {
          kind: 'APIResourceList',
          groupVersion: url.pathname.replace(/^\/apis?\//, ''),
          resources: group.map(([name, kind, namespaced]) => ({
            name,
            kind,
            namespaced,
            singularName: '',
            verbs: ['get', 'list', 'patch'],
          })),
        });
      }
      if (url.pathname === `/api/v1/namespaces/${NS}` && request.method === 'GET') {
        return namespaceLabels
          ? send(200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: namespaceLabels } })
          : send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      }
      if (url.pathname === '/api/v1/pods') return send(200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: pods });
      if (url.pathname === '/apis/apps/v1/deployments')
        return send(200, { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: {}, items: deployments });
      if (request.method === 'PATCH') return send(200, JSON.parse(text));
      return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'kyo-kubeconfig-'));
    writeFileSync(
      join(dir, 'config'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'recorded', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'kyo', user: { token: 'test-token' } }],
        contexts: [{ name: 'recorded', context: { cluster: 'recorded', user: 'kyo' } }],
        'current-context': 'recorded',
      }),
    );
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const orchestrator = () => createKubernetesOrchestrator({ kubeconfig: join(dir, 'config') });
  const applies = () => recorded.filter((r) => r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml');

  it('pings the API server for its version', async () => {
    expect(await orchestrator().ping()).toEqual({
      kind: 'kubernetes',
      configured: true,
      reachable: true,
      detail: 'Kubernetes v1.30.0-recorded',
    });
  });

  it('applies the environment and a release with server-side apply, field manager kyo, forced', async () => {
    recorded.length = 0;
    const kube = orchestrator();
    await kube.ensureEnvironment(deployment);
    await kube.applyService(deployment, contractService('busybox:1.36', 'web', { replicas: 2, release: 4 }));
    expect(applies().map((r) => r.path)).toEqual([
      `/api/v1/namespaces/${NS}`,
      `/api/v1/namespaces/${NS}/serviceaccounts/runner`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/kyo-viewer`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/kyo-viewer-binding`,
      `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/kyo-web`,
      expect.stringMatching(new RegExp(`^/apis/apps/v1/namespaces/${NS}/deployments/shop-web-[0-9a-f]{6}-r4$`)),
      expect.stringMatching(new RegExp(`^/api/v1/namespaces/${NS}/services/shop-web-[0-9a-f]{6}$`)),
    ]);
    for (const r of applies()) expect([r.path, r.query.get('fieldManager'), r.query.get('force')]).toEqual([r.path, 'kyo', 'true']);
    const sent = applies()[5]!.body as { spec: { replicas: number; template: { spec: { containers: { readinessProbe: unknown }[] } } } };
    expect(sent.spec.replicas).toBe(2);
    expect(sent.spec.template.spec.containers[0]!.readinessProbe).toMatchObject({ httpGet: { path: '/index.html', port: 8080 } });
  });

  it("refuses a namespace of the environment's name that someone else made, sending nothing", async () => {
    recorded.length = 0;
    namespaceLabels = { 'kyo.dev/tenant': 'globex', 'kyo.dev/environment': 'env-9' };
    try {
      await expect(orchestrator().ensureEnvironment(deployment)).rejects.toMatchObject({ name: 'OrchestratorError', reason: 'conflict' });
      expect(applies()).toEqual([]);
    } finally {
      namespaceLabels = undefined;
    }
  });

  it('observes pods by label across namespaces: numbered by age, health from readiness, failed once the Deployment gave up', async () => {
    const labels = {
      'kyo.dev/tenant': 'acme',
      'kyo.dev/environment': 'env-1',
      'kyo.dev/deployment': 'dep-1',
      'kyo.dev/service': 'web',
      'kyo.dev/release': '4',
    };
    const pod = (name: string, created: string, ready: boolean, waiting?: string) => ({
      metadata: { name, namespace: 'acme-staging', labels, creationTimestamp: created },
      spec: { containers: [{ name: 'web', image: 'busybox:1.36', readinessProbe: { httpGet: { path: '/', port: 8080 } } }] },
      status: {
        phase: waiting ? 'Pending' : 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [
          {
            name: 'web',
            ready,
            restartCount: 0,
            image: 'busybox:1.36',
            imageID: '',
            state: waiting ? { waiting: { reason: waiting } } : { running: {} },
          },
        ],
      },
    });
    pods = [pod('web-b', '2026-01-01T00:00:02Z', false, 'ContainerCreating'), pod('web-a', '2026-01-01T00:00:01Z', true)];
    deployments = [];
    const observed = await orchestrator().observe({ tenantId: 'acme', environmentId: 'env-1' });
    expect(observed.map((i) => [i.id, i.replica, i.state, i.health])).toEqual([
      ['web-a', 0, 'running', 'healthy'],
      ['web-b', 1, 'starting', 'starting'],
    ]);
    const query = recorded
      .filter((r) => r.path === '/api/v1/pods')
      .at(-1)!
      .query.get('labelSelector');
    expect(query).toBe('kyo.dev/tenant=acme,kyo.dev/environment=env-1');
    deployments = [
      {
        metadata: { name: 'x', namespace: 'acme-staging', labels },
        status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
      },
    ];
    const stalled = await orchestrator().observe({ tenantId: 'acme', environmentId: 'env-1' });
    expect(stalled.map((i) => i.state)).toEqual(['running', 'failed']);
  });

  it('says why an API server is unreachable, and fails calls as unreachable', async () => {
    const unreachable = join(dir, 'unreachable');
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    const kube = createKubernetesOrchestrator({ kubeconfig: unreachable });
    expect(await kube.ping()).toMatchObject({ kind: 'kubernetes', configured: true, reachable: false });
    await expect(kube.observe({ tenantId: 'a', environmentId: 'e' })).rejects.toMatchObject({
      name: 'OrchestratorError',
      reason: 'unreachable',
    });
  });
});
