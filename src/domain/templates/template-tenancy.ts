// Tenancy of a template, as a pure check the command layer runs before deciding: system templates are
// read-only for everyone; a template of another tenant is reported exactly like a missing one, so that a
// caller cannot learn which template ids exist elsewhere. Public templates are readable by all tenants
// but changed only by their owner, which this same rule covers.
import { RuleViolation } from '../rule-violation.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';

export function assertTenantMayChange(state: TemplateState, callerTenantId: string): asserts state is LiveTemplateState {
  if (state.status === 'absent') throw new RuleViolation('template.not_found', 'no such template', 'not_found');
  if (state.isSystemTemplate) throw new RuleViolation('template.system.read_only', 'system templates are read-only', 'forbidden');
  if (state.ownerTenantId !== callerTenantId) throw new RuleViolation('template.not_found', 'no such template', 'not_found');
}
