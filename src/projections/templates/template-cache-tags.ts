// What the template read model's cache entries are tagged with, and which tags a committed batch or a
// rebuild drops. Readers (the template routes) tag entries; the template projector's hooks invalidate.
import type { ReadCache } from '../../ports/read-cache.js';
import type { TemplateBatchEffect } from './template-projector.js';

/** Tag of every cached search page of a tenant. */
export const tenantSearchTag = (tenantId: string) => `tenant:${tenantId}:search`;
/** Tag of every cached search page of every tenant (they all include public and system templates). */
export const sharedSearchTag = 'search:shared';
/** Tag of everything cached about one template. */
export const templateTag = (templateId: string) => `template:${templateId}`;
/** Tag of everything cached from the template read model, dropped when a rebuild swaps its tables. */
export const templateReadModelTag = 'read-model:templates';

/** The template projector's cache hooks: after a commit, the touched templates and the searches of every
 * tenant that could see them; after a rebuild swapped the tables, everything built from the old ones. */
export function templateCacheInvalidation(cache: ReadCache) {
  return {
    afterCommit: (effect: TemplateBatchEffect) =>
      cache.invalidateTags([
        ...effect.templateIds.map(templateTag),
        ...effect.tenantIds.map((tenantId) => (tenantId === '*' ? sharedSearchTag : tenantSearchTag(tenantId))),
      ]),
    afterRebuild: () => cache.invalidateTags([templateReadModelTag]),
  };
}
