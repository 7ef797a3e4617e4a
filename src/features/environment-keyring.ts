// The service's secret keyring, built once per configuration (every user of the environments feature shares it).
import { keyringFromSettings } from '../adapters/secrets/envelope-keyring.js';
import type { SecretKeyring } from '../ports/secret-keyring.js';
import type { FeatureDeps } from './feature-module.js';

const keyrings = new WeakMap<FeatureDeps['config'], SecretKeyring>();

export function keyringFor(deps: Pick<FeatureDeps, 'config' | 'logger'>): SecretKeyring {
  const known = keyrings.get(deps.config);
  if (known) return known;
  const { keyring, generatedFile } = keyringFromSettings({
    secretsKey: deps.config.SECRETS_KEY,
    previousKeys: deps.config.SECRETS_KEY_PREVIOUS,
    dataDir: deps.config.dataDir,
  });
  if (generatedFile && deps.config.DATABASE_URL)
    deps.logger.warn(
      { file: generatedFile },
      'SECRETS_KEY is not set: secrets are encrypted with a key kept in DATA_DIR; every instance must share it',
    );
  keyrings.set(deps.config, keyring);
  return keyring;
}
