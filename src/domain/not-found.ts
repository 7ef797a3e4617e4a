// "Not found", one per resource type: a missing id and another tenant's id must read the same (type, title,
// detail, rule, status), or the answer tells one tenant of another's ids. Every path that refuses an unknown
// aggregate (a decider on the initial state, the command handler on another tenant's stream, a route on an
// empty read) throws this one error, keyed by the stream category. Keys are the categories' literal names
// (the `*-streams.ts` constants), so this file imports no feature and no feature imports it in a cycle.
import { RuleViolation } from './rule-violation.js';

/** Stream category → [rule prefix, noun in the detail]. */
const RESOURCES: Readonly<Record<string, readonly [string, string]>> = {
  backup: ['backup', 'backup'],
  backuppolicy: ['backup_policy', 'backup policy'],
  batch: ['batch', 'batch'],
  category: ['category', 'category'],
  config: ['config', 'config'],
  configtemplate: ['config_template', 'config template'],
  deployment: ['deployment', 'deployment'],
  environment: ['environment', 'environment'],
  restore: ['restore', 'restore'],
  template: ['template', 'template'],
  tenantrestore: ['tenant_restore', 'restore'],
};

/** The categories with a not-found of their own (a test holds every feature's category to it). */
export const NOT_FOUND_CATEGORIES: readonly string[] = Object.keys(RESOURCES);

/** The one "not found" of a stream category: `<resource>.not_found`, "no such <resource>", kind not_found
 * (a category without an entry, e.g. a test's: `<category>.not_found`, "not found"). */
export function notFoundOf(category: string): RuleViolation {
  if (!Object.hasOwn(RESOURCES, category)) return new RuleViolation(`${category}.not_found`, 'not found', 'not_found');
  const [resource, noun] = RESOURCES[category]!;
  return new RuleViolation(`${resource}.not_found`, `no such ${noun}`, 'not_found');
}
