// A template's parent: visible to the caller, and the chain it makes acyclic and at most
// MAX_INHERITANCE_DEPTH deep, checked on the ancestors' streams so it never trusts a lagging read model.
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  assertTenantMayChange,
  templateDecider,
  templateStreamId,
  validateParentChain,
  type TemplateCommand,
} from '../../domain/templates/index.js';
import { alreadyHandled, loadAggregate, type CommandContext } from '../handle-command.js';
import {
  loadTemplate,
  ownerOnly,
  runTemplateCommand,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateTarget,
} from './template-access.js';
import { checkInheritedParticipants } from './template-references.js';

/**
 * Checks a parent for `templateId`: visible to the caller (isVisibleTo, the rule under which content
 * flows at all: another tenant's private template is "not found" as a parent, as everywhere), and the
 * chain it makes acyclic and at most MAX_INHERITANCE_DEPTH deep. Ancestors above the parent are read
 * whatever their tenant, for their links only: a public parent may itself inherit from its owner's
 * private template, and what reaches the child is then the parent's effective content, which its owner
 * published.
 */
export async function checkParent(
  deps: TemplateCommandDeps,
  context: CommandContext,
  templateId: string,
  parentTemplateId: string | null,
  subtreeDepth: number,
): Promise<void> {
  if (parentTemplateId === null) return;
  const parent = await loadTemplate(deps, context, parentTemplateId).catch((error: unknown) => {
    if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
    throw error;
  });
  if (!parent || parent.state.status === 'absent') {
    throw new RuleViolation('template.parent.not_found', 'the parent template does not exist', 'not_found', 'parentTemplateId');
  }
  // Snapshot of the chain above the parent, read from the streams (at most 10 reads, stops at a loop).
  const links = new Map<string, string | null>([[parentTemplateId.toLowerCase(), parent.state.parentTemplateId]]);
  for (let next = parent.state.parentTemplateId; next !== null && !links.has(next) && links.size <= 11;) {
    const ancestor = await loadAggregate(deps, templateDecider, templateStreamId(next), { tenantId: context.tenantId, access: () => true });
    const link = ancestor.state.status === 'absent' ? undefined : ancestor.state.parentTemplateId;
    if (link === undefined) break;
    links.set(next, link);
    next = link;
  }
  validateParentChain({
    templateId: templateId.toLowerCase(),
    newParentId: parentTemplateId.toLowerCase(),
    lookup: (id) => (links.has(id) ? { parentTemplateId: links.get(id)! } : undefined),
    subtreeDepth,
  });
}

export async function changeTemplateParent(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { parentTemplateId: string | null },
): Promise<TemplateCommandResult> {
  const command: TemplateCommand = {
    type: 'ChangeTemplateParent',
    data: { parentTemplateId: input.parentTemplateId?.toLowerCase() ?? null },
  };
  const before = await loadTemplate(deps, context, input.templateId);
  if (!alreadyHandled(before, context)) {
    assertTenantMayChange(before.state, context.tenantId);
    await checkParent(deps, context, input.templateId, input.parentTemplateId, await deps.subtreeDepth(input.templateId.toLowerCase()));
    await checkInheritedParticipants(deps, context, input.parentTemplateId, before.state.content, 'parentTemplateId');
  }
  return runTemplateCommand(deps, context, input, command, ownerOnly(context));
}
