// An environment directory held in memory, for the deployment tests (the environments feature owns the
// real one). Secrets are kept as given; `resolved` counts decryptions so tests can see when they happen.
import type { EnvironmentDirectory, EnvironmentView, ResolvedConfig } from '../../src/ports/environment-directory.js';

export interface FakeEnvironmentDirectory extends EnvironmentDirectory {
  addEnvironment(view: Partial<EnvironmentView> & Pick<EnvironmentView, 'tenantId' | 'environmentId'>): EnvironmentView;
  setConfig(tenantId: string, environmentId: string | null, config: Omit<ResolvedConfig, 'version'> & { version?: number }): ResolvedConfig;
  /** Every resolveConfigs call: (tenant, environment, names). */
  readonly resolved: { tenantId: string; environmentId: string; names: readonly string[] }[];
}

export function fakeEnvironmentDirectory(): FakeEnvironmentDirectory {
  const environments = new Map<string, EnvironmentView>();
  const configs = new Map<string, ResolvedConfig>();
  const key = (...parts: (string | null)[]) => parts.map(String).join('\u0000');
  const find = (tenantId: string, environmentId: string, name: string) =>
    configs.get(key(tenantId, environmentId, name)) ?? configs.get(key(tenantId, null, name));
  const resolved: FakeEnvironmentDirectory['resolved'] = [];
  return {
    resolved,
    addEnvironment(view) {
      const full: EnvironmentView = {
        name: view.environmentId.slice(0, 8),
        type: 'development',
        orchestrator: 'docker',
        target: `kyo-${view.environmentId.slice(0, 8)}`,
        status: 'active',
        quotas: {},
        ...view,
      };
      environments.set(key(view.tenantId, view.environmentId), full);
      return full;
    },
    setConfig(tenantId, environmentId, config) {
      const existing = configs.get(key(tenantId, environmentId, config.name));
      const full = { ...config, version: config.version ?? (existing ? existing.version + 1 : 1) };
      configs.set(key(tenantId, environmentId, config.name), full);
      return full;
    },
    async environment(tenantId, environmentId) {
      const view = environments.get(key(tenantId, environmentId));
      return view && view.status !== 'deleted' ? view : undefined;
    },
    async configRefs(tenantId, environmentId, names) {
      const found = new Map<string, Omit<ResolvedConfig, 'data'>>();
      for (const name of names) {
        const config = find(tenantId, environmentId, name);
        if (config) found.set(name, { configId: config.configId, name, type: config.type, version: config.version });
      }
      return found;
    },
    async resolveConfigs(tenantId, environmentId, names) {
      resolved.push({ tenantId, environmentId, names: [...names] });
      const found = new Map<string, ResolvedConfig>();
      for (const name of names) {
        const config = find(tenantId, environmentId, name);
        if (config) found.set(name, config);
      }
      return found;
    },
  };
}
