// The Kubernetes adapter of the orchestrator port (@kubernetes/client-node): objects built by the pure manifest
// functions, applied with server-side apply (field manager `kyo`, forced: this service owns what it applies);
// instances are the pods, their state from the pod and its Deployment's conditions.
import type { AppsV1Api, CoreV1Api, KubernetesObject, KubernetesObjectApi, V1Deployment, V1Pod, VersionApi } from '@kubernetes/client-node';
import {
  OrchestratorError,
  type DeploymentTarget,
  type EnvironmentTarget,
  type ObservedInstance,
  type Orchestrator,
  type OrchestratorReachability,
  type ResolvedService,
} from '../../../ports/orchestrator.js';
import { LABEL, MANAGER, serviceLabels, targetName } from '../naming.js';
import { environmentManifests } from './environment-manifests.js';
import { serviceManifests } from './service-manifests.js';
import { loadKubernetesClient } from './kubernetes-client.js';
import { instancesOf } from './pod-status.js';

export interface KubernetesOrchestratorOptions {
  /** Path of the kubeconfig file (its current context is used). */
  readonly kubeconfig: string;
}

const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|EAI_AGAIN|socket hang up|network|fetch failed/i;
const codeOf = (error: unknown): number | undefined => (error as { code?: unknown })?.code as number | undefined;

function classify(error: unknown): unknown {
  if (error instanceof OrchestratorError) return error;
  const code = codeOf(error);
  const text = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'number' && UNREACHABLE.test(`${text} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    return new OrchestratorError('kubernetes', 'unreachable', `the API server did not answer: ${text}`);
  }
  if (code === 422 || code === 400) return new OrchestratorError('kubernetes', 'invalid', text);
  return error;
}

const selector = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

export function createKubernetesOrchestrator(options: KubernetesOrchestratorOptions): Orchestrator {
  interface Clients {
    readonly objects: KubernetesObjectApi;
    readonly core: CoreV1Api;
    readonly apps: AppsV1Api;
    readonly version: VersionApi;
    readonly apply: 'application/apply-patch+yaml';
    readonly merge: 'application/merge-patch+json';
  }
  let loaded: Promise<Clients> | undefined;
  const clients = () =>
    (loaded ??= loadKubernetesClient().then((k8s) => {
      const config = new k8s.KubeConfig();
      config.loadFromFile(options.kubeconfig);
      return {
        objects: k8s.KubernetesObjectApi.makeApiClient(config),
        core: config.makeApiClient(k8s.CoreV1Api),
        apps: config.makeApiClient(k8s.AppsV1Api),
        version: config.makeApiClient(k8s.VersionApi),
        apply: k8s.PatchStrategy.ServerSideApply,
        merge: k8s.PatchStrategy.MergePatch,
      };
    }));

  const guarded =
    <Args extends unknown[], R>(call: (...args: Args) => Promise<R>) =>
    async (...args: Args): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        throw classify(error);
      }
    };

  const apply = async (manifest: { validate(): void; toJSON(): unknown }) => {
    manifest.validate();
    const { objects, apply: serverSideApply } = await clients();
    await objects.patch(manifest.toJSON() as KubernetesObject, undefined, undefined, MANAGER, true, serverSideApply);
  };

  const ignoreNotFound = async (call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (error) {
      if (codeOf(error) !== 404) throw error;
    }
  };

  async function ensureEnvironment(environment: EnvironmentTarget): Promise<void> {
    const { core } = await clients();
    try {
      const existing = await core.readNamespace({ name: targetName(environment) });
      const labels = existing.metadata?.labels ?? {};
      // Only a namespace made outside this service can hold the name (it is unique per tenant and target).
      if (labels[LABEL.tenant] !== environment.tenantId || labels[LABEL.environment] !== environment.environmentId) {
        throw new OrchestratorError(
          'kubernetes',
          'conflict',
          `namespace ${targetName(environment)} exists and belongs to another environment`,
        );
      }
    } catch (error) {
      if (codeOf(error) !== 404) throw error;
    }
    for (const manifest of environmentManifests(environment)) await apply(manifest);
  }

  /** Deletes every object of the kinds a service owns that matches the labels (and `keep` does not spare). */
  async function deleteLabelled(
    namespace: string,
    labels: Readonly<Record<string, string>>,
    keep: (object: KubernetesObject) => boolean = () => false,
  ) {
    const kinds: [string, string][] = [
      ['apps/v1', 'Deployment'],
      ['v1', 'Service'],
      ['v1', 'ConfigMap'],
      ['v1', 'Secret'],
      ['v1', 'PersistentVolumeClaim'],
      ['networking.k8s.io/v1', 'Ingress'],
    ];
    const { objects } = await clients();
    for (const [apiVersion, kind] of kinds) {
      const list = await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector(labels));
      for (const item of list.items.filter((object) => !keep(object))) {
        await ignoreNotFound(() =>
          objects.delete(
            { apiVersion, kind, metadata: { name: item.metadata?.name, namespace } },
            undefined,
            undefined,
            undefined,
            undefined,
            'Background',
          ),
        );
      }
    }
  }

  const deploymentsOf = async (deployment: DeploymentTarget, service: string) =>
    (
      await (
        await clients()
      ).apps.listNamespacedDeployment({ namespace: targetName(deployment), labelSelector: selector(serviceLabels(deployment, service)) })
    ).items;

  /** A merge patch of one Deployment (scale, restart): `annotations` null removes them. */
  const patchDeployment = async (item: V1Deployment, patch: { annotations?: Record<string, string | null>; spec?: object }) => {
    const { objects, merge } = await clients();
    const body = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: item.metadata!.name!,
        namespace: item.metadata!.namespace!,
        ...(patch.annotations ? { annotations: patch.annotations } : {}),
      },
      ...(patch.spec ? { spec: patch.spec } : {}),
    };
    await objects.patch(body as KubernetesObject, undefined, undefined, MANAGER, undefined, merge);
  };

  async function observe(scope: { tenantId: string; environmentId: string; deploymentId?: string }): Promise<ObservedInstance[]> {
    const labels = selector({
      [LABEL.tenant]: scope.tenantId,
      [LABEL.environment]: scope.environmentId,
      ...(scope.deploymentId ? { [LABEL.deployment]: scope.deploymentId } : {}),
    });
    const [pods, deployments] = await Promise.all([
      (await clients()).core.listPodForAllNamespaces({ labelSelector: labels }),
      (await clients()).apps.listDeploymentForAllNamespaces({ labelSelector: labels }),
    ]);
    return instancesOf(pods.items as V1Pod[], deployments.items as V1Deployment[]);
  }

  return {
    kind: 'kubernetes',
    async ping(): Promise<OrchestratorReachability> {
      try {
        const info = await (await clients()).version.getCode();
        return { kind: 'kubernetes', configured: true, reachable: true, detail: `Kubernetes ${info.gitVersion}` };
      } catch (error) {
        const code = codeOf(error) ?? (error as { cause?: { code?: string } }).cause?.code ?? 'error';
        return {
          kind: 'kubernetes',
          configured: true,
          reachable: false,
          detail: `the API server of KUBECONFIG's current context does not answer (${code})`,
        };
      }
    },
    ensureEnvironment: guarded(ensureEnvironment),
    removeEnvironment: guarded(async (environment: EnvironmentTarget) => {
      const { core } = await clients();
      try {
        const existing = await core.readNamespace({ name: targetName(environment) });
        if (
          existing.metadata?.labels?.[LABEL.tenant] !== environment.tenantId ||
          existing.metadata.labels[LABEL.environment] !== environment.environmentId
        )
          return;
      } catch (error) {
        if (codeOf(error) === 404) return;
        throw error;
      }
      await ignoreNotFound(() => core.deleteNamespace({ name: targetName(environment) }));
    }),
    applyService: guarded(async (deployment: DeploymentTarget, service: ResolvedService) => {
      if (!Number.isInteger(service.replicas) || service.replicas < 0) {
        throw new OrchestratorError('kubernetes', 'invalid', `replicas must be a whole number ≥ 0, got ${service.replicas}`);
      }
      for (const manifest of serviceManifests(deployment, service)) await apply(manifest);
    }),
    pruneService: guarded(async (deployment: DeploymentTarget, service: string, keepRelease: number) => {
      // Objects without a release label (Service, Ingress, PVC) serve every release: kept.
      await deleteLabelled(targetName(deployment), serviceLabels(deployment, service), (object) => {
        const release = object.metadata?.labels?.[LABEL.release];
        return release === undefined || release === String(keepRelease);
      });
    }),
    removeService: guarded(async (deployment: DeploymentTarget, service: string) =>
      deleteLabelled(targetName(deployment), serviceLabels(deployment, service)),
    ),
    stopService: guarded(async (deployment: DeploymentTarget, service: string) => {
      for (const item of await deploymentsOf(deployment, service)) {
        const replicas = item.spec?.replicas ?? 0;
        if (replicas === 0) continue;
        await patchDeployment(item, { annotations: { 'kyo.dev/stopped-replicas': String(replicas) }, spec: { replicas: 0 } });
      }
    }),
    startService: guarded(async (deployment: DeploymentTarget, service: string) => {
      for (const item of await deploymentsOf(deployment, service)) {
        const stopped = item.metadata?.annotations?.['kyo.dev/stopped-replicas'];
        if (stopped === undefined) continue;
        await patchDeployment(item, { annotations: { 'kyo.dev/stopped-replicas': null }, spec: { replicas: Number(stopped) } });
      }
    }),
    restartService: guarded(async (deployment: DeploymentTarget, service: string) => {
      // What `kubectl rollout restart` does: the Deployment replaces its pods one by one (maxUnavailable 0).
      const at = new Date().toISOString();
      for (const item of await deploymentsOf(deployment, service)) {
        await patchDeployment(item, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': at } } } } });
      }
    }),
    observe: guarded(observe),
    logs: guarded(async (deployment: DeploymentTarget, service: string, logOptions?: { tail?: number }) => {
      const tail = Math.max(1, Math.min(logOptions?.tail ?? 100, 10_000));
      const { core } = await clients();
      const pods = await core.listNamespacedPod({
        namespace: targetName(deployment),
        labelSelector: selector(serviceLabels(deployment, service)),
      });
      const lines = await Promise.all(
        pods.items.map(async (pod) => {
          const text = await core
            .readNamespacedPodLog({ name: pod.metadata!.name!, namespace: targetName(deployment), tailLines: tail, timestamps: true })
            .catch(() => '');
          const prefix = `r${pod.metadata?.labels?.[LABEL.release]}-${pod.metadata?.name}`;
          return text
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => ({ at: line.slice(0, line.indexOf(' ')), text: `[${prefix}] ${line.slice(line.indexOf(' ') + 1)}` }));
        }),
      );
      return lines
        .flat()
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
        .slice(-tail)
        .map((line) => line.text);
    }),
    async close() {},
  };
}
