import type { ConfigType } from './config-data.js';
import type { SealedData } from './config-events.js';

/** A version's values as the aggregate receives them: plain for configmap/environment, sealed for a secret
 * (the command layer seals before deciding; the domain never sees a secret in plaintext). */
export type ConfigPayload = { data: Record<string, string> } | { sealed: SealedData; keys: string[] };

export type ConfigCommand =
  | {
      type: 'CreateConfig';
      data: {
        configId: string;
        name: string;
        environmentId: string | null;
        type: ConfigType;
        rollServices: boolean;
        payload: ConfigPayload;
      };
    }
  | { type: 'UpdateConfig'; data: { rollServices: boolean; payload: ConfigPayload } }
  | { type: 'DeleteConfig'; data: Record<string, never> }
  | { type: 'RewrapConfigKeys'; data: { rewrapped: { version: number; keyId: string; wrappedKey: string }[] } };
