// Config events. The deployments feature reacts to ConfigCreated/ConfigUpdated (by these names) when
// `rollServices` is set. A secret's values travel only sealed (envelope-encrypted): `data` is absent then.
import type { ConfigType } from './config-data.js';

export type SealedData = {
  keyId: string;
  wrappedKey: string;
  ciphertext: string;
};

export type ConfigVersionData = {
  configId: string;
  name: string;
  environmentId: string | null;
  type: ConfigType;
  version: number;
  rollServices: boolean;
  /** The keys, sorted (never the values of a secret). */
  keys: string[];
  /** configmap / environment: the values. */
  data?: Record<string, string>;
  /** secret: the values, sealed. */
  sealed?: SealedData;
};

export type ConfigEvent =
  | { type: 'ConfigCreated'; data: ConfigVersionData }
  | { type: 'ConfigUpdated'; data: ConfigVersionData }
  | { type: 'ConfigDeleted'; data: { configId: string; name: string; environmentId: string | null; type: ConfigType; version: number } }
  /** A secret version's data key wrapped again, by another key-encryption key (rotation). */
  | { type: 'ConfigKeyRewrapped'; data: { configId: string; version: number; keyId: string; wrappedKey: string; previousKeyId: string } };

export const CONFIG_EVENT_TYPES: readonly ConfigEvent['type'][] = ['ConfigCreated', 'ConfigUpdated', 'ConfigDeleted', 'ConfigKeyRewrapped'];
