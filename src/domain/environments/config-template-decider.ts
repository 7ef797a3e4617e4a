// A config template: typed variables and data with `{{ variable }}` placeholders, rendered into configs.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { CONFIG_TEMPLATE_CATEGORY } from './environment-streams.js';
import { isUuid } from '../uuid.js';
import { CONFIG_TYPES, validConfigData, type ConfigType } from './config-data.js';
import type { SealedData } from './config-events.js';
import { placeholdersIn, validVariables, type VariableSpec } from './config-variables.js';

export const TEMPLATE_NAME_MAX = 100;
export const TEMPLATE_DESCRIPTION_MAX = 2000;

export type ConfigTemplateDefinition = {
  name: string;
  description: string;
  configType: ConfigType;
  variables: VariableSpec[];
  data: Record<string, string>;
  /** A secret template as stored: its data and defaults sealed (config-template-secrets.ts); `data` is then `{}`. */
  sealed?: SealedData;
  /** With `sealed`: the data keys, which are not secret. */
  sealedKeys?: string[];
};

export type ConfigTemplateEvent =
  | { type: 'ConfigTemplateCreated'; data: { templateId: string; definition: ConfigTemplateDefinition } }
  | { type: 'ConfigTemplateUpdated'; data: { templateId: string; definition: ConfigTemplateDefinition } }
  | { type: 'ConfigTemplateDeleted'; data: { templateId: string; name: string } }
  /** A key rotation: the sealed secrets' data key wrapped by the current key-encryption key (ciphertext unchanged). */
  | { type: 'ConfigTemplateKeyRewrapped'; data: { templateId: string; keyId: string; wrappedKey: string } };

export const CONFIG_TEMPLATE_EVENT_TYPES: readonly ConfigTemplateEvent['type'][] = [
  'ConfigTemplateCreated',
  'ConfigTemplateUpdated',
  'ConfigTemplateDeleted',
  'ConfigTemplateKeyRewrapped',
];

export type ConfigTemplateCommand =
  | { type: 'CreateConfigTemplate'; data: { templateId: string; definition: ConfigTemplateDefinition } }
  | { type: 'UpdateConfigTemplate'; data: { definition: ConfigTemplateDefinition } }
  | { type: 'DeleteConfigTemplate'; data: Record<string, never> }
  | { type: 'RewrapConfigTemplateKey'; data: { keyId: string; wrappedKey: string } };

export type ConfigTemplateState =
  { status: 'absent' } | { status: 'active' | 'deleted'; templateId: string; definition: ConfigTemplateDefinition };

const invalid = (rule: string, message: string, field: string) => new RuleViolation(rule, message, 'invalid', field);

/** Refuses a definition that cannot render: bad variables, data keys the type refuses, placeholders naming
 * no variable. The data is checked with its placeholders in (a rendered value is checked again on render). */
export function validDefinition(definition: ConfigTemplateDefinition): ConfigTemplateDefinition {
  const name = definition.name.trim();
  if (name.length < 1 || name.length > TEMPLATE_NAME_MAX)
    throw invalid('config_template.name.length', `name must be 1–${TEMPLATE_NAME_MAX} characters`, 'name');
  if (definition.description.length > TEMPLATE_DESCRIPTION_MAX)
    throw invalid(
      'config_template.description.length',
      `description must be at most ${TEMPLATE_DESCRIPTION_MAX} characters`,
      'description',
    );
  if (!CONFIG_TYPES.includes(definition.configType))
    throw invalid('config_template.type', `configType must be one of ${CONFIG_TYPES.join(', ')}`, 'configType');
  const variables = validVariables(definition.variables);
  validConfigData(definition.configType, definition.data);
  for (const [key, text] of Object.entries(definition.data)) {
    const unknown = placeholdersIn(text).find((p) => !variables.some((v) => v.name === p));
    if (unknown) throw invalid('config_template.placeholder.unknown', `{{ ${unknown} }} names no variable`, `data.${key}`);
  }
  return { ...definition, name, variables };
}

export function assertTemplateExists(
  state: ConfigTemplateState,
): asserts state is Exclude<ConfigTemplateState, { status: 'absent' }> & { status: 'active' } {
  if (state.status !== 'active') throw notFoundOf(CONFIG_TEMPLATE_CATEGORY);
}

function decide(command: ConfigTemplateCommand, state: ConfigTemplateState): ConfigTemplateEvent[] {
  if (command.type === 'CreateConfigTemplate') {
    if (state.status !== 'absent')
      throw new RuleViolation('config_template.exists', 'this template already exists', 'conflict', 'templateId');
    if (!isUuid(command.data.templateId)) throw invalid('config_template.id.format', 'templateId must be a UUID', 'templateId');
    return [
      {
        type: 'ConfigTemplateCreated',
        data: { templateId: command.data.templateId, definition: validDefinition(command.data.definition) },
      },
    ];
  }
  assertTemplateExists(state);
  if (command.type === 'DeleteConfigTemplate')
    return [{ type: 'ConfigTemplateDeleted', data: { templateId: state.templateId, name: state.definition.name } }];
  if (command.type === 'RewrapConfigTemplateKey') {
    const sealed = state.definition.sealed;
    if (!sealed || sealed.keyId === command.data.keyId) return [];
    return [{ type: 'ConfigTemplateKeyRewrapped', data: { templateId: state.templateId, ...command.data } }];
  }
  const definition = validDefinition(command.data.definition);
  if (JSON.stringify(definition) === JSON.stringify(state.definition)) return [];
  return [{ type: 'ConfigTemplateUpdated', data: { templateId: state.templateId, definition } }];
}

function evolve(state: ConfigTemplateState, event: ConfigTemplateEvent): ConfigTemplateState {
  switch (event.type) {
    case 'ConfigTemplateCreated':
      return { status: 'active', templateId: event.data.templateId, definition: event.data.definition };
    case 'ConfigTemplateUpdated':
      return state.status === 'absent' ? state : { ...state, definition: event.data.definition };
    case 'ConfigTemplateDeleted':
      return state.status === 'absent' ? state : { ...state, status: 'deleted' };
    case 'ConfigTemplateKeyRewrapped': {
      const sealed = state.status === 'absent' ? undefined : state.definition.sealed;
      if (state.status === 'absent' || !sealed) return state;
      const { keyId, wrappedKey } = event.data;
      return { ...state, definition: { ...state.definition, sealed: { ...sealed, keyId, wrappedKey } } };
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

export const configTemplateDecider: Decider<ConfigTemplateState, ConfigTemplateCommand, ConfigTemplateEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
