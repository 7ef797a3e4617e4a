// A secret config template's own values are secrets too: its `data` (literal values beside the placeholders)
// and its variables' defaults. They are sealed before the decider sees them, like a secret config's values:
// an event, the read model and an answer hold only the data keys and which variables have a default. The
// command side opens them for a render or a partial update, never for an answer.
import type { SealedData } from './config-events.js';
import type { ConfigTemplateDefinition } from './config-template-decider.js';
import type { VariableSpec } from './config-variables.js';

/** What a secret template seals: its data and its defaults, by variable name. */
type TemplateSecrets = { data: Record<string, string>; defaults: Record<string, string | number | boolean> };

/** What the ciphertext of a template's secrets is bound to: they open for this tenant's template only. */
export const templateSecretContext = (tenantId: string, templateId: string) => `config-template:${tenantId}:${templateId.toLowerCase()}`;

/** The template as stored: for a secret template, data and defaults sealed (data `{}`, `sealedKeys` its keys,
 * `defaultSealed` on each variable that has one). Other types, and an already sealed one, pass unchanged. */
export function sealTemplateSecrets(
  definition: ConfigTemplateDefinition,
  seal: (plaintext: string) => SealedData,
): ConfigTemplateDefinition {
  if (definition.configType !== 'secret' || definition.sealed) return definition;
  const defaults = Object.fromEntries(definition.variables.flatMap((v) => (v.default === undefined ? [] : [[v.name, v.default]])));
  const secrets: TemplateSecrets = { data: definition.data, defaults };
  const variables = definition.variables.map(({ default: given, ...spec }): VariableSpec =>
    given === undefined ? spec : { ...spec, defaultSealed: true },
  );
  return { ...definition, data: {}, variables, sealed: seal(JSON.stringify(secrets)), sealedKeys: Object.keys(definition.data).sort() };
}

/** The template with its secrets in the clear (for a render or a merge); a template without sealed secrets
 * (any other type, or a secret template written before they were sealed) unchanged. */
export function openTemplateSecrets(definition: ConfigTemplateDefinition, open: (sealed: SealedData) => string): ConfigTemplateDefinition {
  if (!definition.sealed) return definition;
  const secrets = JSON.parse(open(definition.sealed)) as TemplateSecrets;
  const { sealed: _sealed, sealedKeys: _keys, ...rest } = definition;
  const variables = definition.variables.map(({ defaultSealed: _flag, ...spec }): VariableSpec =>
    Object.hasOwn(secrets.defaults, spec.name) ? { ...spec, default: secrets.defaults[spec.name]! } : spec,
  );
  return { ...rest, data: secrets.data, variables };
}

/** The data keys a template shows (a sealed template's from `sealedKeys`). */
export const templateDataKeys = (definition: ConfigTemplateDefinition): string[] =>
  definition.sealedKeys ? [...definition.sealedKeys] : Object.keys(definition.data).sort();
