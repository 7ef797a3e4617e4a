// Config template commands, and rendering a template into a config (create, or a new version of one).
import {
  assertTemplateExists,
  configTemplateDecider,
  configTemplateStreamId,
  openTemplateSecrets,
  renderData,
  resolveVariables,
  riskyConfigData,
  sealTemplateSecrets,
  templateSecretContext,
  validConfigData,
  validDefinition,
  type ConfigTemplateDefinition,
  type ConfigTemplateState,
  type Finding,
} from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { alreadyHandled, handleCommand, loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';
import { claimRunGiveBack, normalizeReservedValue, type ReservationRequest } from '../reservations.js';
import type { ConfigCommandDeps } from './config-handlers.js';

/** A secret template's data and defaults, sealed for this tenant's template (other types unchanged). */
const sealed = (deps: ConfigCommandDeps, tenantId: string, templateId: string, definition: ConfigTemplateDefinition) =>
  sealTemplateSecrets(definition, (plaintext) => deps.keyring.seal(plaintext, templateSecretContext(tenantId, templateId)));

/** The template with its secrets open: only for a render or a merge, never for an answer. */
const opened = (deps: ConfigCommandDeps, tenantId: string, templateId: string, definition: ConfigTemplateDefinition) =>
  openTemplateSecrets(definition, (value) => deps.keyring.open(value, templateSecretContext(tenantId, templateId)));

export const CONFIG_TEMPLATE_NAME_SCOPE = 'config_template.name';
const sameName = (a: string, b: string) => normalizeReservedValue(a) === normalizeReservedValue(b);

/** A template's name is unique per tenant among its templates that are not deleted. */
function nameClaim(deps: CommandDeps, context: CommandContext, templateId: string, name: string): ReservationRequest {
  return {
    scope: CONFIG_TEMPLATE_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: configTemplateStreamId(context.tenantId, templateId),
    context,
    field: 'name',
    stillHolds: async (owner) => {
      try {
        const { state } = await loadAggregate(deps, configTemplateDecider, owner, { tenantId: context.tenantId });
        return state.status === 'active' && sameName(state.definition.name, name);
      } catch (error) {
        if (error instanceof RuleViolation && error.kind === 'not_found') return false;
        throw error;
      }
    },
  };
}

export interface TemplateTarget {
  readonly templateId: string;
  readonly expectedRevision?: bigint;
}

const run = (
  deps: CommandDeps,
  context: CommandContext,
  target: TemplateTarget,
  command: Parameters<typeof configTemplateDecider.decide>[0],
  expectNew = false,
) =>
  handleCommand(deps, configTemplateDecider, {
    streamId: configTemplateStreamId(context.tenantId, target.templateId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
    ...(expectNew ? { expectNew } : {}),
  });

export async function createConfigTemplate(
  deps: ConfigCommandDeps,
  context: CommandContext,
  input: { templateId: string; definition: ConfigTemplateDefinition },
) {
  const templateId = input.templateId.toLowerCase();
  const plain = validDefinition(plainInput(input.definition)); // bad input fails before any claim or seal
  const definition = sealed(deps, context.tenantId, templateId, plain);
  const command = { type: 'CreateConfigTemplate', data: { templateId, definition } } as const;
  const exists = (await load(deps, context.tenantId, templateId)).revision !== undefined;
  if (exists) return run(deps, context, { templateId }, command);
  const claim = nameClaim(deps, context, templateId, definition.name);
  return claimRunGiveBack(deps, { claim }, () => run(deps, context, { templateId }, command, true));
}

/** A partial change: the given fields replace the current ones; a new name is claimed first. */
export async function updateConfigTemplate(
  deps: ConfigCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { changes: Partial<ConfigTemplateDefinition> },
) {
  const loaded = await load(deps, context.tenantId, input.templateId);
  const { state } = loaded;
  assertTemplateExists(state);
  const current = opened(deps, context.tenantId, input.templateId, state.definition);
  const plain = validDefinition({ ...current, ...plainInput(input.changes) });
  // Unchanged in the clear: keep the stored (sealed) form, so that the decider sees no change.
  const definition =
    JSON.stringify(plain) === JSON.stringify(validDefinition(current)) && current.configType === state.definition.configType
      ? state.definition
      : sealed(deps, context.tenantId, input.templateId, plain);
  const command = { type: 'UpdateConfigTemplate', data: { definition } } as const;
  if (alreadyHandled(loaded, context)) return run(deps, context, input, command);
  const renamed = !sameName(state.definition.name, plain.name);
  return claimRunGiveBack(
    deps,
    {
      claim: renamed ? nameClaim(deps, context, input.templateId, definition.name) : undefined,
      giveBackAfter: () => (renamed ? [nameClaim(deps, context, input.templateId, state.definition.name)] : []),
    },
    () => run(deps, context, input, command),
  );
}

export async function deleteConfigTemplate(deps: CommandDeps, context: CommandContext, input: TemplateTarget) {
  const { state } = await load(deps, context.tenantId, input.templateId);
  return claimRunGiveBack(
    deps,
    { giveBackAfter: () => (state.status === 'absent' ? [] : [nameClaim(deps, context, input.templateId, state.definition.name)]) },
    () => run(deps, context, input, { type: 'DeleteConfigTemplate', data: {} }),
  );
}

const load = (deps: CommandDeps, tenantId: string, templateId: string) =>
  loadAggregate(deps, configTemplateDecider, configTemplateStreamId(tenantId, templateId), { tenantId });

export async function loadTemplate(deps: CommandDeps, tenantId: string, templateId: string): Promise<ConfigTemplateState> {
  return (await loadAggregate(deps, configTemplateDecider, configTemplateStreamId(tenantId, templateId), { tenantId })).state;
}

export interface Rendering {
  readonly definition: ConfigTemplateDefinition;
  readonly data: Record<string, string>;
  readonly errors: Finding[];
  readonly warnings: Finding[];
}

/** Renders with the given variables: errors for missing/ill-typed variables and for rendered values the
 * config type refuses; warnings for risky values. Writes nothing. */
export async function renderTemplate(
  deps: ConfigCommandDeps,
  tenantId: string,
  templateId: string,
  variables: Record<string, unknown>,
): Promise<Rendering> {
  const state = await loadTemplate(deps, tenantId, templateId);
  assertTemplateExists(state);
  const definition = opened(deps, tenantId, templateId, state.definition);
  const { values, errors } = resolveVariables(definition.variables, variables);
  const data = renderData(definition.data, values);
  try {
    validConfigData(definition.configType, data);
  } catch (error) {
    if (!(error instanceof RuleViolation)) throw error;
    errors.push({ field: error.field ?? 'data', rule: error.rule, message: error.message });
  }
  return { definition, data, errors, warnings: riskyConfigData(definition.configType, data) };
}

/** Sealed fields come only from the service: a client's input never carries them. */
function plainInput<T extends Partial<ConfigTemplateDefinition>>(input: T): Omit<T, 'sealed' | 'sealedKeys'> {
  const { sealed: _sealed, sealedKeys: _keys, ...plain } = input;
  return { ...plain, ...(plain.variables ? { variables: plain.variables.map(({ defaultSealed: _flag, ...spec }) => spec) } : {}) };
}

/** Re-wraps a secret template's data key with the current key-encryption key (rotation); answers whether it did. */
export async function rewrapConfigTemplate(deps: ConfigCommandDeps, context: CommandContext, templateId: string): Promise<boolean> {
  const { state } = await load(deps, context.tenantId, templateId);
  const stored = state.status === 'active' ? state.definition.sealed : undefined;
  if (!stored || stored.keyId === deps.keyring.currentKeyId) return false;
  const { keyId, wrappedKey } = deps.keyring.rewrap(stored, templateSecretContext(context.tenantId, templateId));
  const result = await run(deps, context, { templateId }, { type: 'RewrapConfigTemplateKey', data: { keyId, wrappedKey } });
  return result.events.length > 0;
}
