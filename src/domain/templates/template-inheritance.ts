// Template inheritance, pure: how a child template's JSON objects combine with its parent's, how a whole
// chain folds into the effective template, and which parent assignments are allowed.
import { RuleViolation } from '../rule-violation.js';
import type { MergeStrategy, Money, SkillLevel } from './template-content.js';
import { cloneJson, getOwn, isPlainObject, setOwn, type JsonObject, type JsonValue } from './template-json.js';

/**
 * Semantics of each strategy, `mergeByStrategy(parent, child, strategy, selectiveKeys)`:
 *
 * - override:  shallow. Every top-level key of the child replaces the parent's; the parent's other keys
 *              stay. Result = { ...parent, ...child }.
 * - merge:     deep. For a key in both: two plain objects merge recursively, two arrays concatenate
 *              (parent's items, then child's), anything else takes the child's value. Keys in only one
 *              side are kept as they are.
 * - extend:    additive, parent wins. A key the parent lacks is added from the child; for a key both
 *              have whose values are both plain objects, recurse with extend; otherwise the parent's
 *              value stays. No value present in the parent (at any key path) ever changes.
 * - selective: the parent, plus the child's top-level keys named in `selectiveKeys`, which replace the
 *              parent's. A listed key the child lacks leaves the parent's value (or absence) as it is.
 *
 * The inputs are never mutated and the result shares no object or array with them (deep copies).
 * Keys are data: `__proto__`, `constructor` and the like are copied as own properties (see
 * template-json.ts), never through the prototype chain, so `{"__proto__": …}` from JSON.parse merges like
 * any other key and no prototype is polluted.
 */
export const MERGE_STRATEGY_SEMANTICS: Readonly<Record<MergeStrategy, string>> = {
  override: 'shallow: child top-level keys replace the parent ones',
  merge: 'deep: objects merge recursively, arrays concatenate (parent then child), other child values replace',
  extend: 'parent wins: only keys the parent lacks are added from the child, recursing into objects both have',
  selective: 'parent plus only the child top-level keys listed in selectiveKeys, which replace',
};

function deepMerge(parent: JsonObject, child: JsonObject): JsonObject {
  const result = cloneJson(parent);
  for (const key of Object.keys(child)) {
    const mine = getOwn(parent, key);
    const theirs = child[key] as JsonValue;
    if (isPlainObject(mine) && isPlainObject(theirs)) setOwn(result, key, deepMerge(mine, theirs));
    else if (Array.isArray(mine) && Array.isArray(theirs)) setOwn(result, key, cloneJson([...mine, ...theirs]));
    else setOwn(result, key, cloneJson(theirs));
  }
  return result;
}

function extend(parent: JsonObject, child: JsonObject): JsonObject {
  const result = cloneJson(parent);
  for (const key of Object.keys(child)) {
    const theirs = child[key] as JsonValue;
    if (!Object.hasOwn(parent, key)) setOwn(result, key, cloneJson(theirs));
    else {
      const mine = parent[key];
      if (isPlainObject(mine) && isPlainObject(theirs)) setOwn(result, key, extend(mine, theirs));
    }
  }
  return result;
}

export function mergeByStrategy(
  parent: JsonObject,
  child: JsonObject,
  strategy: MergeStrategy,
  selectiveKeys: readonly string[] = [],
): JsonObject {
  switch (strategy) {
    case 'override': {
      const result = cloneJson(parent);
      for (const key of Object.keys(child)) setOwn(result, key, cloneJson(child[key] as JsonValue));
      return result;
    }
    case 'merge':
      return deepMerge(parent, child);
    case 'extend':
      return extend(parent, child);
    case 'selective': {
      const result = cloneJson(parent);
      for (const key of selectiveKeys) {
        if (Object.hasOwn(child, key)) setOwn(result, key, cloneJson(child[key] as JsonValue));
      }
      return result;
    }
  }
}

/** One template of a chain, as inheritance sees it. `null` scalars inherit from the parent. */
export type TemplateLayer = {
  dynamicProperties: JsonObject;
  validationRules: JsonObject;
  uiConfiguration: JsonObject;
  mergeStrategy: MergeStrategy;
  selectiveKeys: readonly string[];
  description: string | null;
  categoryId: string | null;
  defaultDuration: number | null;
  defaultMaxParticipants: number | null;
  defaultMinParticipants: number | null;
  defaultPrice: Money | null;
  defaultSkillLevel: SkillLevel | null;
};

export type EffectiveTemplate = Omit<TemplateLayer, 'mergeStrategy' | 'selectiveKeys'>;

export const INHERITED_JSON_FIELDS = ['dynamicProperties', 'validationRules', 'uiConfiguration'] as const;
export const INHERITED_SCALAR_FIELDS = [
  'description',
  'categoryId',
  'defaultDuration',
  'defaultMaxParticipants',
  'defaultMinParticipants',
  'defaultPrice',
  'defaultSkillLevel',
] as const;

/**
 * Folds a root-first chain (root, child, grandchild, …, the template itself) into what the last template
 * effectively says. Start from the root (its own strategy is unused: nothing above it); each next layer
 * combines with the accumulated result by *its own* strategy and selectiveKeys, i.e.
 * acc = mergeByStrategy(acc, layer, layer.mergeStrategy, layer.selectiveKeys) for each JSON object, and a
 * scalar default takes the layer's value unless it is null (then the accumulated one is kept).
 * Participants are not re-checked here: min ≤ max holds per template, not necessarily across a chain.
 */
export function effectiveTemplate(chain: readonly TemplateLayer[]): EffectiveTemplate {
  const [root, ...rest] = chain;
  if (root === undefined) throw new RuleViolation('template.chain.empty', 'an inheritance chain has at least one template', 'invalid');
  const start: EffectiveTemplate = {
    dynamicProperties: cloneJson(root.dynamicProperties),
    validationRules: cloneJson(root.validationRules),
    uiConfiguration: cloneJson(root.uiConfiguration),
    description: root.description,
    categoryId: root.categoryId,
    defaultDuration: root.defaultDuration,
    defaultMaxParticipants: root.defaultMaxParticipants,
    defaultMinParticipants: root.defaultMinParticipants,
    defaultPrice: root.defaultPrice === null ? null : { ...root.defaultPrice },
    defaultSkillLevel: root.defaultSkillLevel,
  };
  return rest.reduce<EffectiveTemplate>(
    (acc, layer) => ({
      dynamicProperties: mergeByStrategy(acc.dynamicProperties, layer.dynamicProperties, layer.mergeStrategy, layer.selectiveKeys),
      validationRules: mergeByStrategy(acc.validationRules, layer.validationRules, layer.mergeStrategy, layer.selectiveKeys),
      uiConfiguration: mergeByStrategy(acc.uiConfiguration, layer.uiConfiguration, layer.mergeStrategy, layer.selectiveKeys),
      description: layer.description ?? acc.description,
      categoryId: layer.categoryId ?? acc.categoryId,
      defaultDuration: layer.defaultDuration ?? acc.defaultDuration,
      defaultMaxParticipants: layer.defaultMaxParticipants ?? acc.defaultMaxParticipants,
      defaultMinParticipants: layer.defaultMinParticipants ?? acc.defaultMinParticipants,
      defaultPrice: layer.defaultPrice === null ? acc.defaultPrice : { ...layer.defaultPrice },
      defaultSkillLevel: layer.defaultSkillLevel ?? acc.defaultSkillLevel,
    }),
    start,
  );
}

type ParticipantBounds = Pick<TemplateLayer, 'defaultMinParticipants' | 'defaultMaxParticipants'>;

/** The participant bounds at the end of a root-first chain: each is the last one set (null inherits). */
export function effectiveParticipants(chain: readonly ParticipantBounds[]): { min: number | null; max: number | null } {
  let min: number | null = null;
  let max: number | null = null;
  for (const layer of chain) {
    min = layer.defaultMinParticipants ?? min;
    max = layer.defaultMaxParticipants ?? max;
  }
  return { min, max };
}

/**
 * min ≤ max must hold for what a template effectively says, not only for its own values: a child that
 * sets only a minimum above its parent's maximum would describe courses nobody can run. Refuses with
 * 'template.participants.effective_order' (unprocessable) on `field`, the input that made the clash.
 * The message names no inherited value: the ancestors may belong to another tenant.
 */
export function validateEffectiveParticipants(chain: readonly ParticipantBounds[], field: string): void {
  const { min, max } = effectiveParticipants(chain);
  if (min !== null && max !== null && min > max) {
    throw new RuleViolation(
      'template.participants.effective_order',
      'after inheritance, the minimum participants would exceed the maximum; set both on this template or change the inherited one',
      'unprocessable',
      field,
    );
  }
}

/** The deepest chain allowed, counting the template itself as level 1 (a root alone has depth 1). */
export const MAX_INHERITANCE_DEPTH = 10;

export type ParentLookup = (templateId: string) => { parentTemplateId: string | null } | undefined;

/**
 * Checks that `templateId` may take `newParentId` as parent, given a snapshot `lookup` of the other
 * templates' parent links (undefined = no such template). Refuses:
 * - the template itself: 'template.parent.self' (invalid);
 * - a parent (or an ancestor of it) that does not exist: 'template.parent.not_found' (not_found);
 * - a parent that descends from the template, or an ancestor loop already in the data:
 *   'template.parent.cycle' (conflict);
 * - a resulting depth over MAX_INHERITANCE_DEPTH: 'template.parent.depth' (conflict). The depth is the
 *   number of ancestors plus `subtreeDepth`, the levels of the template's own subtree counting itself
 *   (1 for a leaf: the default; the caller passes more when the template has descendants, which move
 *   down with it).
 * Returns the template's new depth (1 + number of ancestors); `newParentId` null always gives 1.
 */
export function validateParentChain(input: {
  templateId: string;
  newParentId: string | null;
  lookup: ParentLookup;
  subtreeDepth?: number;
}): number {
  const { templateId, newParentId, lookup } = input;
  const subtreeDepth = input.subtreeDepth ?? 1;
  if (newParentId === null) {
    if (subtreeDepth > MAX_INHERITANCE_DEPTH) throw depthViolation();
    return 1;
  }
  if (newParentId === templateId)
    throw new RuleViolation('template.parent.self', 'a template cannot be its own parent', 'invalid', 'parentTemplateId');
  const seen = new Set<string>();
  let ancestors = 0;
  let current: string | null = newParentId;
  while (current !== null) {
    if (current === templateId)
      throw new RuleViolation('template.parent.cycle', 'the new parent descends from this template', 'conflict', 'parentTemplateId');
    if (seen.has(current)) throw new RuleViolation('template.parent.cycle', 'the parent chain loops', 'conflict', 'parentTemplateId');
    seen.add(current);
    const node = lookup(current);
    if (node === undefined)
      throw new RuleViolation('template.parent.not_found', `template ${current} does not exist`, 'not_found', 'parentTemplateId');
    ancestors += 1;
    current = node.parentTemplateId;
  }
  if (ancestors + subtreeDepth > MAX_INHERITANCE_DEPTH) throw depthViolation();
  return ancestors + 1;
}

const depthViolation = () =>
  new RuleViolation(
    'template.parent.depth',
    `an inheritance chain has at most ${MAX_INHERITANCE_DEPTH} levels`,
    'conflict',
    'parentTemplateId',
  );

/**
 * One step of the fold: a template's effective content from what it inherits (its parent's effective
 * content, or null for none) and its own layer. Folding a chain step by step gives effectiveTemplate of
 * the chain; the step form lets a child inherit from a frozen copy (a parent it can no longer see).
 */
export function inheritEffective(inherited: EffectiveTemplate | null, own: TemplateLayer): EffectiveTemplate {
  return effectiveTemplate(inherited ? [{ ...inherited, mergeStrategy: 'override', selectiveKeys: [] }, own] : [own]);
}
