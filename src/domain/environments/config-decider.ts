// A config: named values (configmap, secret or environment variables) in one environment or tenant-wide,
// versioned: every change is a new version, and every version stays readable (a secret's sealed). Names are
// unique per (tenant, environment) through a reservation stream (commands/environments/config-claims.ts).
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { CONFIG_CATEGORY } from './environment-streams.js';
import { isUuid } from '../uuid.js';
import { validConfigData, validConfigName, type ConfigType } from './config-data.js';
import type { ConfigCommand, ConfigPayload } from './config-commands.js';
import type { ConfigEvent, ConfigVersionData, SealedData } from './config-events.js';

export type ConfigState =
  | { status: 'absent' }
  | {
      status: 'active' | 'deleted';
      configId: string;
      name: string;
      environmentId: string | null;
      type: ConfigType;
      version: number;
      /** Every version, oldest first; a secret's values only sealed. */
      versions: { version: number; keys: string[]; data?: Record<string, string>; sealed?: SealedData }[];
    };

type Existing = Exclude<ConfigState, { status: 'absent' }>;

export function assertConfigExists(state: ConfigState): asserts state is Existing & { status: 'active' } {
  if (state.status !== 'active') throw notFoundOf(CONFIG_CATEGORY);
}

/** Refuses values that the type cannot hold; `sealed` payloads were checked before sealing. */
function payloadFields(type: ConfigType, payload: ConfigPayload): Pick<ConfigVersionData, 'keys' | 'data' | 'sealed'> {
  if ('sealed' in payload) {
    if (type !== 'secret') throw new RuleViolation('config.sealed_not_secret', 'only a secret is sealed', 'invalid', 'type');
    return { keys: [...payload.keys].sort(), sealed: payload.sealed };
  }
  // A secret in plaintext here is a bug of the caller, never something to store.
  if (type === 'secret')
    throw new RuleViolation('config.secret_unsealed', 'a secret must be sealed before it is recorded', 'invalid', 'data');
  const keys = validConfigData(type, payload.data);
  return { keys, data: Object.fromEntries(keys.map((key) => [key, payload.data[key]!])) };
}

function decide(command: ConfigCommand, state: ConfigState): ConfigEvent[] {
  if (command.type === 'CreateConfig') {
    if (state.status !== 'absent') throw new RuleViolation('config.exists', 'this config already exists', 'conflict', 'configId');
    const { configId, environmentId, type, rollServices, payload } = command.data;
    if (!isUuid(configId)) throw new RuleViolation('config.id.format', 'configId must be a UUID', 'invalid', 'configId');
    const name = validConfigName(command.data.name);
    return [
      { type: 'ConfigCreated', data: { configId, name, environmentId, type, version: 1, rollServices, ...payloadFields(type, payload) } },
    ];
  }
  assertConfigExists(state);
  const { configId, name, environmentId, type } = state;
  switch (command.type) {
    case 'UpdateConfig': {
      const fields = payloadFields(type, command.data.payload);
      const current = state.versions.at(-1);
      // The same plain values again are no new version; sealed values cannot be compared, and need not be.
      if (fields.data && current?.data && JSON.stringify(current.data) === JSON.stringify(fields.data)) return [];
      const data = { configId, name, environmentId, type, version: state.version + 1, rollServices: command.data.rollServices, ...fields };
      return [{ type: 'ConfigUpdated', data }];
    }
    case 'DeleteConfig':
      return [{ type: 'ConfigDeleted', data: { configId, name, environmentId, type, version: state.version } }];
    case 'RewrapConfigKeys':
      return command.data.rewrapped.flatMap(({ version, keyId, wrappedKey }) => {
        const sealed = state.versions.find((v) => v.version === version)?.sealed;
        if (!sealed || sealed.keyId === keyId) return [];
        return [{ type: 'ConfigKeyRewrapped', data: { configId, version, keyId, wrappedKey, previousKeyId: sealed.keyId } }];
      });
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

function versionOf(data: ConfigVersionData): Existing['versions'][number] {
  return {
    version: data.version,
    keys: data.keys,
    ...(data.data ? { data: data.data } : {}),
    ...(data.sealed ? { sealed: data.sealed } : {}),
  };
}

function evolve(state: ConfigState, event: ConfigEvent): ConfigState {
  switch (event.type) {
    case 'ConfigCreated': {
      const { configId, name, environmentId, type, version } = event.data;
      return { status: 'active', configId, name, environmentId, type, version, versions: [versionOf(event.data)] };
    }
    case 'ConfigUpdated':
      return state.status === 'absent'
        ? state
        : { ...state, version: event.data.version, versions: [...state.versions, versionOf(event.data)] };
    case 'ConfigDeleted':
      return state.status === 'absent' ? state : { ...state, status: 'deleted' };
    case 'ConfigKeyRewrapped': {
      if (state.status === 'absent') return state;
      const { version, keyId, wrappedKey } = event.data;
      const versions = state.versions.map((v) =>
        v.version === version && v.sealed ? { ...v, sealed: { ...v.sealed, keyId, wrappedKey } } : v,
      );
      return { ...state, versions };
    }
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}

export const configDecider: Decider<ConfigState, ConfigCommand, ConfigEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
