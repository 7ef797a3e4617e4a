// Template commands: the aggregate's decider, plus the rules that need more than one stream:
// - tenancy: owners change their templates; public and system templates are readable (favorite, use) by
//   every tenant; system templates are read-only; another tenant's private template is "not found";
// - the name is unique per tenant among templates that are not archived (template-name.ts);
// - a parent must be visible to the caller, the chain acyclic and at most 10 deep (template-parent.ts);
// - the category and the inherited participant bounds (template-references.ts);
// - at most `maxTemplatesPerTenant` templates per tenant (create-update.ts);
// - a template is deleted (softly) only without children that are not archived (lifecycle.ts).
export {
  templateAccess,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateLimits,
  type TemplateTarget,
} from './template-access.js';
export { TEMPLATE_NAME_SCOPE } from './template-name.js';
export { addTemplateTags, createTemplate, removeTemplateTags, updateTemplate } from './create-update.js';
export { changeTemplateParent } from './template-parent.js';
export { changeTemplateStatus, deleteTemplate, restoreTemplateVersion, undeleteTemplate, type TemplateStatusAction } from './lifecycle.js';
export { favoriteTemplate, favoriteUserKey, recordTemplateUsage, type TemplateSideEffectResult } from './favorites-usages.js';
