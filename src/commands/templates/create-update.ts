// Creating a template and changing its content (fields, tags). The rules that need more than the
// template's own stream are checked first, on other streams:
// - the name is unique per tenant among templates that are not archived (reservation streams);
// - the category, the parent and the participant bounds inherited (template-references.ts, template-parent.ts);
// - at most `maxTemplatesPerTenant` templates per tenant (counted on the read model: approximate under
//   a burst of concurrent creates, by at most the projection's lag).
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  assertMayUpdateTemplate,
  assertTenantMayChange,
  assertValidTemplateCreate,
  templateDecider,
  templateStreamId,
  type CreateTemplateData,
  type TemplateChanges,
  type TemplateCommand,
  type TemplateState,
  type TemplateTag,
  type TemplateTagKey,
} from '../../domain/templates/index.js';
import { alreadyHandled, assertExpectedRevision, handleCommand, type CommandContext } from '../handle-command.js';
import { claimRunGiveBack } from '../reservations.js';
import {
  loadTemplate,
  ownerOnly,
  runTemplateCommand,
  templateAccess,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateTarget,
} from './template-access.js';
import { holdsName, nameClaim } from './template-name.js';
import { checkParent } from './template-parent.js';
import { boundsAfter, checkInheritedParticipants, checkTemplateCategory } from './template-references.js';

export async function createTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: Omit<CreateTemplateData, 'ownerTenantId'>,
): Promise<TemplateCommandResult> {
  const templateId = input.templateId.toLowerCase();
  const command: TemplateCommand = { type: 'CreateTemplate', data: { ...input, templateId, ownerTenantId: context.tenantId } };
  assertValidTemplateCreate(command.data); // bad input fails before anything else
  if ((await deps.countTemplates(context.tenantId)) >= deps.limits.maxTemplatesPerTenant) {
    throw new RuleViolation('template.tenant.limit', `a tenant has at most ${deps.limits.maxTemplatesPerTenant} templates`, 'conflict');
  }
  await checkParent(deps, context, templateId, input.parentTemplateId?.toLowerCase() ?? null, 1);
  await checkCreateReferences(deps, context, input).catch(async (error: unknown) => {
    // A retry of a create that succeeded is answered with its first result even if the category was
    // archived since: only a refusal costs this read of the template's stream.
    if (!(error instanceof RuleViolation)) throw error;
    const existing = await loadTemplate(deps, context, templateId).catch(() => undefined);
    if (!existing || !alreadyHandled(existing, context)) throw error;
  });
  // No read of the template's stream first: the claim is idempotent per owner, and the handler appends
  // with no_stream, falling back to a full load for a retry (answered with the first result) or a clash
  // (template.exists, after which the claim is given back unless that template holds the name).
  return claimRunGiveBack(deps, { claim: nameClaim(deps, context, templateId, input.name) }, () =>
    handleCommand(deps, templateDecider, {
      streamId: templateStreamId(templateId),
      command,
      context,
      access: templateAccess,
      expectNew: true,
    }),
  );
}

export async function updateTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { changes: TemplateChanges },
): Promise<TemplateCommandResult> {
  const command: TemplateCommand = { type: 'UpdateTemplate', data: input.changes };
  const before = await loadTemplate(deps, context, input.templateId);
  const handled = alreadyHandled(before, context);
  if (!handled) await checkUpdateReferences(deps, context, before.state, input.changes);
  const newName = input.changes.name;
  // A new name is claimed before any write (so a stale If-Match is refused first), and the old one given
  // back after the update.
  if (!handled && newName !== undefined) assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const movesName = newName !== undefined && !holdsName(before.state, newName);
  return claimRunGiveBack(
    deps,
    {
      claim: !handled && movesName ? nameClaim(deps, context, input.templateId, newName) : undefined,
      giveBackAfter: () =>
        movesName && before.state.status !== 'absent' ? [nameClaim(deps, context, input.templateId, before.state.content.name)] : [],
    },
    () => runTemplateCommand(deps, context, input, command, ownerOnly(context)),
  );
}

/** The category and the inherited participant bounds of a new template. */
async function checkCreateReferences(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: Omit<CreateTemplateData, 'ownerTenantId'>,
): Promise<void> {
  await checkTemplateCategory(deps, context, input.categoryId);
  const bounds = boundsAfter(templateDecider.initialState(), {
    defaultMinParticipants: input.defaultMinParticipants ?? null,
    defaultMaxParticipants: input.defaultMaxParticipants ?? null,
  });
  await checkInheritedParticipants(deps, context, input.parentTemplateId ?? null, bounds.own, bounds.field ?? 'parentTemplateId');
}

/** Ownership, the update's own rules, then the category and the inherited participant bounds it leads to,
 * checked before any claim. */
async function checkUpdateReferences(
  deps: TemplateCommandDeps,
  context: CommandContext,
  state: TemplateState,
  changes: TemplateChanges,
): Promise<void> {
  assertTenantMayChange(state, context.tenantId);
  assertMayUpdateTemplate(state, changes); // bad input first
  if (changes.categoryId && changes.categoryId.toLowerCase() !== state.content.categoryId?.toLowerCase())
    await checkTemplateCategory(deps, context, changes.categoryId);
  const bounds = boundsAfter(state, changes);
  if (bounds.field) await checkInheritedParticipants(deps, context, state.parentTemplateId, bounds.own, bounds.field);
}

export function addTemplateTags(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { tags: TemplateTag[] },
): Promise<TemplateCommandResult> {
  return runTemplateCommand(deps, context, input, { type: 'AddTemplateTags', data: { tags: input.tags } }, ownerOnly(context));
}

export function removeTemplateTags(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { tags: TemplateTagKey[] },
): Promise<TemplateCommandResult> {
  return runTemplateCommand(deps, context, input, { type: 'RemoveTemplateTags', data: { tags: input.tags } }, ownerOnly(context));
}
