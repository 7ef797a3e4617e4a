// Config template commands, and rendering a template into a config (create, or a new version of one).
import {
  assertTemplateExists,
  configTemplateDecider,
  configTemplateStreamId,
  renderData,
  resolveVariables,
  riskyConfigData,
  validConfigData,
  type ConfigTemplateDefinition,
  type ConfigTemplateState,
  type Finding,
} from '../../domain/environments/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';

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
    streamId: configTemplateStreamId(target.templateId),
    command,
    context,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
    ...(expectNew ? { expectNew } : {}),
  });

export const createConfigTemplate = (
  deps: CommandDeps,
  context: CommandContext,
  input: { templateId: string; definition: ConfigTemplateDefinition },
) =>
  run(
    deps,
    context,
    input,
    { type: 'CreateConfigTemplate', data: { templateId: input.templateId.toLowerCase(), definition: input.definition } },
    true,
  );

/** A partial change: the given fields replace the current ones. */
export async function updateConfigTemplate(
  deps: CommandDeps,
  context: CommandContext,
  input: TemplateTarget & { changes: Partial<ConfigTemplateDefinition> },
) {
  const state = await loadTemplate(deps, context.tenantId, input.templateId);
  assertTemplateExists(state);
  const definition = { ...state.definition, ...input.changes };
  return run(deps, context, input, { type: 'UpdateConfigTemplate', data: { definition } });
}

export const deleteConfigTemplate = (deps: CommandDeps, context: CommandContext, input: TemplateTarget) =>
  run(deps, context, input, { type: 'DeleteConfigTemplate', data: {} });

export async function loadTemplate(deps: CommandDeps, tenantId: string, templateId: string): Promise<ConfigTemplateState> {
  return (await loadAggregate(deps, configTemplateDecider, configTemplateStreamId(templateId), { tenantId })).state;
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
  deps: CommandDeps,
  tenantId: string,
  templateId: string,
  variables: Record<string, unknown>,
): Promise<Rendering> {
  const state = await loadTemplate(deps, tenantId, templateId);
  assertTemplateExists(state);
  const { definition } = state;
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
