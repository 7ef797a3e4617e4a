// Loads @kubernetes/client-node on first use only. Its HTTP client (undici 8) is written for Node 22: on Node
// 20 (this service's engine) merely importing it throws. Three Node 22 APIs it touches are filled in first, each
// only where missing: `zlib.createZstdDecompress` (asked for only by a server answering in zstd, which API
// servers do not: it throws), `worker_threads.markAsUncloneable` (a no-op marker) and `Promise.withResolvers`
// (its standard definition). Loading lazily also keeps the service's start free of it when KUBECONFIG is unset.
import { createRequire } from 'node:module';
import type * as KubernetesClient from '@kubernetes/client-node';

const require = createRequire(import.meta.url);

function fillNode22Gaps(): void {
  const zlib = require('node:zlib') as Record<string, unknown>;
  if (typeof zlib.createZstdDecompress !== 'function') {
    zlib.createZstdDecompress = () => {
      throw new Error('zstd content-encoding needs Node 22');
    };
  }
  const workerThreads = require('node:worker_threads') as Record<string, unknown>;
  if (typeof workerThreads.markAsUncloneable !== 'function') workerThreads.markAsUncloneable = () => {};
  const promise = Promise as unknown as { withResolvers?: unknown };
  if (typeof promise.withResolvers !== 'function') {
    promise.withResolvers = function withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const created = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise: created, resolve, reject };
    };
  }
}

let loading: Promise<typeof KubernetesClient> | undefined;

export function loadKubernetesClient(): Promise<typeof KubernetesClient> {
  loading ??= (async () => {
    fillNode22Gaps();
    return import('@kubernetes/client-node');
  })();
  return loading;
}
