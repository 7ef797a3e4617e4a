// Loads @kubernetes/client-node on first use only, so the service's start stays free of it when KUBECONFIG
// is unset. Pinned to the 1.x line: 2.x brings undici 8, which needs Node 22 and throws on import under
// Node 20, this service's engine.
import type * as KubernetesClient from '@kubernetes/client-node';

let loading: Promise<typeof KubernetesClient> | undefined;

export function loadKubernetesClient(): Promise<typeof KubernetesClient> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}
