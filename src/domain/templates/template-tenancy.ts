// Tenancy of a template, as a pure check the command layer runs before deciding: system templates are
// read-only for everyone; a template of another tenant is reported exactly like a missing one, so that a
// caller cannot learn which template ids exist elsewhere. Public templates are readable by all tenants
// but changed only by their owner, which this same rule covers.
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { TEMPLATE_CATEGORY } from './template-streams.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';

/** A missing template, and one the caller may not see, alike. */
export const templateNotFound = () => notFoundOf(TEMPLATE_CATEGORY);

export function assertTenantMayChange(state: TemplateState, callerTenantId: string): asserts state is LiveTemplateState {
  if (state.status === 'absent') throw templateNotFound();
  if (state.isSystemTemplate) throw new RuleViolation('template.system.read_only', 'system templates are read-only', 'forbidden');
  if (state.ownerTenantId !== callerTenantId) throw templateNotFound();
}

/**
 * Whether a tenant may see a template: its own, or public, or system. One rule for reads, for the
 * commands that read another template (parent, favorite, usage) and for inheritance: a child's tenant
 * receives its parent's content only while this holds (see the projector and the as-of fold).
 */
export const isVisibleTo = (template: { ownerTenantId: string; isPublic: boolean; isSystemTemplate: boolean }, tenantId: string) =>
  template.ownerTenantId === tenantId || template.isPublic || template.isSystemTemplate;

/** Only the owner brings back a template it deleted (system templates are never deleted). */
export function assertTenantMayUndelete(state: TemplateState, callerTenantId: string): void {
  const template = state.status === 'absent' ? state.deleted : state;
  if (template === undefined) throw templateNotFound();
  if (template.isSystemTemplate) throw new RuleViolation('template.system.read_only', 'system templates are read-only', 'forbidden');
  if (template.ownerTenantId !== callerTenantId) throw templateNotFound();
}
