// The environment directory deployments read (src/ports/environment-directory.ts), from the event streams:
// an environment's stream, and configs found by name through their name reservations, so a deployment
// command sees an environment or config the moment it was recorded, without waiting for a projection.
import { configHolderOf, loadConfig, openVersion } from '../commands/environments/index.js';
import { loadAggregate } from '../commands/handle-command.js';
import { CONFIG_CATEGORY, environmentDecider, environmentStreamId } from '../domain/environments/index.js';
import { idOfStream } from '../domain/tenant-streams.js';
import { RuleViolation } from '../domain/rule-violation.js';
import { isUuid } from '../domain/uuid.js';
import type { EnvironmentDirectory, EnvironmentView, ResolvedConfig } from '../ports/environment-directory.js';
import { keyringFor } from './environment-keyring.js';
import type { FeatureDeps } from './feature-module.js';

export function environmentDirectoryFor(deps: FeatureDeps): EnvironmentDirectory {
  const keyring = keyringFor(deps);
  const { commands } = deps;

  async function environment(tenantId: string, environmentId: string): Promise<EnvironmentView | undefined> {
    if (!isUuid(environmentId)) return undefined;
    let state;
    try {
      ({ state } = await loadAggregate(commands, environmentDecider, environmentStreamId(tenantId, environmentId), { tenantId }));
    } catch (error) {
      if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
      throw error;
    }
    if (state.status === 'absent' || state.status === 'deleted') return undefined;
    const { settings } = state;
    return {
      tenantId,
      environmentId: state.environmentId,
      name: settings.name,
      type: settings.type,
      orchestrator: settings.orchestrator,
      target: settings.target,
      status: state.status,
      quotas: settings.quotas,
      security: settings.security,
      networking: settings.networking,
    };
  }

  /** The config a name means in the environment: its own first, then the tenant-wide one. */
  async function find(tenantId: string, environmentId: string, name: string) {
    for (const scope of [environmentId.toLowerCase(), null]) {
      const holder = await configHolderOf(commands, tenantId, scope, name);
      const configId = holder === undefined ? undefined : idOfStream(CONFIG_CATEGORY, holder);
      if (configId === undefined) continue;
      const loaded = await loadConfig(commands, tenantId, configId);
      // A claim can outlive its config for a moment (a crash between the delete and the release).
      if (loaded?.state.status === 'active' && loaded.state.name === name && loaded.state.environmentId === scope) return loaded.state;
    }
    return undefined;
  }

  async function each<T>(
    tenantId: string,
    environmentId: string,
    names: readonly string[],
    map: (state: NonNullable<Awaited<ReturnType<typeof find>>>) => T,
  ) {
    const found = new Map<string, T>();
    if (!isUuid(environmentId)) return found;
    for (const name of new Set(names)) {
      const state = await find(tenantId, environmentId, name);
      if (state) found.set(name, map(state));
    }
    return found;
  }

  return {
    environment,
    configRefs: (tenantId, environmentId, names) =>
      each(tenantId, environmentId, names, (s) => ({ configId: s.configId, name: s.name, type: s.type, version: s.version })),
    resolveConfigs: (tenantId, environmentId, names) =>
      each(tenantId, environmentId, names, (s): ResolvedConfig => ({
        configId: s.configId,
        name: s.name,
        type: s.type,
        version: s.version,
        data: openVersion(keyring, tenantId, s) ?? {},
      })),
  };
}
