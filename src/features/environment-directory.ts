// PLACEHOLDER: the environments feature replaces this file with its implementation (from its event
// streams). Until then no environment exists, so every deployment is refused as naming an unknown one.
import type { EnvironmentDirectory } from '../ports/environment-directory.js';
import type { FeatureDeps } from './feature-module.js';

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the real implementation reads deps
export function environmentDirectoryFor(deps: FeatureDeps): EnvironmentDirectory {
  return {
    environment: async () => undefined,
    configRefs: async () => new Map(),
    resolveConfigs: async () => new Map(),
  };
}
