// The rules a config's name and values obey, whatever its type: names as Kubernetes names its objects,
// keys as ConfigMap/Secret keys (environment variables for type `environment`), a bounded size.
import { RuleViolation } from '../rule-violation.js';
import { DNS_SUBDOMAIN } from './environment-spec.js';

export const CONFIG_TYPES = ['configmap', 'secret', 'environment'] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];
export const CONFIG_MAX_KEYS = 500;
/** Kubernetes refuses ConfigMaps and Secrets over 1 MiB; keys and values together stay under it. */
export const CONFIG_MAX_BYTES = 1024 * 1024 - 4096;
/** A key becomes a file name (a Docker tar entry holds at most 100 bytes; Kubernetes allows 253) or an
 * environment variable name: one bound that every orchestrator accepts. */
export const CONFIG_KEY_MAX = 100;
export const ENV_VAR_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${CONFIG_KEY_MAX - 1}}$`);
/** Kubernetes ConfigMap/Secret keys; `.` and `..` are not file names any orchestrator can mount. */
export const CONFIG_KEY = new RegExp(`^(?!\\.{1,2}$)[-._a-zA-Z0-9]{1,${CONFIG_KEY_MAX}}$`);

const invalid = (rule: string, message: string, field: string) => new RuleViolation(rule, message, 'invalid', field);

export function validConfigName(raw: string): string {
  if (!DNS_SUBDOMAIN.test(raw))
    throw invalid('config.name.format', 'name must be a lowercase DNS name (letters, digits, - and .; at most 253)', 'name');
  return raw;
}

/** The one rule for a config key, whatever the orchestrator: throws naming `data.<key>`. */
export function validConfigKey(type: ConfigType, key: string): string {
  if (type === 'environment' ? ENV_VAR_NAME.test(key) : CONFIG_KEY.test(key)) return key;
  throw invalid(
    'config.data.key',
    type === 'environment'
      ? `keys must be environment variable names (a letter or _, then letters, digits or _; at most ${CONFIG_KEY_MAX})`
      : `keys must be 1–${CONFIG_KEY_MAX} letters, digits, -, _ and ., and not . or ..`,
    `data.${key}`,
  );
}

/** Refuses data a config of this type cannot hold; answers with its keys in order. */
export function validConfigData(type: ConfigType, data: Readonly<Record<string, string>>): string[] {
  const keys = Object.keys(data).sort();
  if (keys.length > CONFIG_MAX_KEYS) throw invalid('config.data.too_many_keys', `at most ${CONFIG_MAX_KEYS} keys`, 'data');
  let bytes = 0;
  for (const key of keys) {
    validConfigKey(type, key);
    const value = data[key];
    if (typeof value !== 'string') throw invalid('config.data.value', 'values must be strings', `data.${key}`);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > CONFIG_MAX_BYTES)
    throw invalid('config.data.size', `keys and values together must stay under ${CONFIG_MAX_BYTES} bytes`, 'data');
  return keys;
}
