// A template's status, versions and existence: archiving and deleting give its name back; unarchiving,
// undeleting and restoring a version with another name take one again (if it is still free).
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  assertMayChangeTemplateStatus,
  assertTenantMayChange,
  assertTenantMayUndelete,
  type TemplateCommand,
  type TemplateState,
} from '../../domain/templates/index.js';
import { alreadyHandled, assertExpectedRevision, type CommandContext } from '../handle-command.js';
import { claimRunGiveBack } from '../reservations.js';
import {
  loadTemplate,
  ownerOnly,
  runTemplateCommand,
  type TemplateCommandDeps,
  type TemplateCommandResult,
  type TemplateTarget,
} from './template-access.js';
import { holdsName, nameClaim } from './template-name.js';
import { checkInheritedParticipants } from './template-references.js';

const STATUS_COMMANDS = {
  activate: 'ActivateTemplate',
  archive: 'ArchiveTemplate',
  deprecate: 'DeprecateTemplate',
  unarchive: 'UnarchiveTemplate',
} as const;
export type TemplateStatusAction = keyof typeof STATUS_COMMANDS;

export async function changeTemplateStatus(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { action: TemplateStatusAction },
): Promise<TemplateCommandResult> {
  const command = { type: STATUS_COMMANDS[input.action], data: {} } as TemplateCommand;
  const run = () => runTemplateCommand(deps, context, input, command, ownerOnly(context));
  if (input.action !== 'unarchive') {
    const archives = input.action === 'archive';
    return claimRunGiveBack(
      deps,
      {
        giveBackAfter: (result) =>
          archives && result.state.status !== 'absent' ? [nameClaim(deps, context, input.templateId, result.state.content.name)] : [],
      },
      run,
    );
  }
  // Back from the archive takes the name again, if it is still free.
  const before = await loadTemplate(deps, context, input.templateId);
  if (alreadyHandled(before, context)) return run();
  assertTenantMayChange(before.state, context.tenantId);
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  assertMayChangeTemplateStatus(before.state, 'draft');
  const claim = before.state.status === 'archived' ? nameClaim(deps, context, input.templateId, before.state.content.name) : undefined;
  return claimRunGiveBack(deps, { claim }, run);
}

export async function restoreTemplateVersion(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { version: number },
): Promise<TemplateCommandResult> {
  const before = await loadTemplate(deps, context, input.templateId);
  const command: TemplateCommand = { type: 'RestoreTemplateVersion', data: { version: input.version } };
  const run = () => runTemplateCommand(deps, context, input, command, ownerOnly(context));
  if (alreadyHandled(before, context)) return run();
  assertTenantMayChange(before.state, context.tenantId);
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const current = before.state;
  const restored = current.versions[input.version];
  if (restored) await checkInheritedParticipants(deps, context, current.parentTemplateId, restored, 'version');
  // An old version with another name: that name must be free now, and the current one is given back.
  const otherName = restored && !holdsName(current, restored.name) ? restored.name : undefined;
  if (otherName === undefined) return run();
  return claimRunGiveBack(
    deps,
    {
      claim: nameClaim(deps, context, input.templateId, otherName),
      giveBackAfter: () => [nameClaim(deps, context, input.templateId, current.content.name)],
    },
    run,
  );
}

/**
 * Soft delete: refused while the template has children that are not archived (they would be left without
 * their parent; `template.delete.active_children`, 409, names them), gives the name back.
 */
export async function deleteTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & {
    /** false for a batch item: the batch's conflict detection checked the children (siblings deleted by the
     * same batch included) on caught-up read models before it started, and its items run in any order. */
    readonly checkChildren?: boolean;
  },
): Promise<TemplateCommandResult> {
  const before = await loadTemplate(deps, context, input.templateId);
  const run = () => runTemplateCommand(deps, context, input, { type: 'DeleteTemplate', data: {} }, ownerOnly(context));
  if (alreadyHandled(before, context)) return run();
  assertTenantMayChange(before.state, context.tenantId);
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const children = input.checkChildren === false ? [] : await deps.activeChildren(input.templateId);
  if (children.length > 0) {
    // Children of other tenants (under a public template) are counted, never named.
    const own = children.filter((child) => child.tenantId === context.tenantId).map((child) => child.templateId);
    const others = children.length - own.length;
    throw new RuleViolation(
      'template.delete.active_children',
      `${children.length} child template(s) that are not archived inherit from this template` +
        (own.length > 0 ? `: ${own.slice(0, 20).join(', ')}` : '') +
        (others > 0 ? ` (${others} of other tenants)` : ''),
      'conflict',
    );
  }
  const name = before.state.content.name;
  return claimRunGiveBack(deps, { giveBackAfter: () => [nameClaim(deps, context, input.templateId, name)] }, run);
}

/** Brings a deleted template back in the status it had; a template that held a name takes it again (if free). */
export async function undeleteTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget,
): Promise<TemplateCommandResult> {
  const before = await loadTemplate(deps, context, input.templateId);
  const authorize = (state: TemplateState) => assertTenantMayUndelete(state, context.tenantId);
  const run = () => runTemplateCommand(deps, context, input, { type: 'UndeleteTemplate', data: {} }, authorize);
  if (alreadyHandled(before, context)) return run();
  authorize(before.state);
  assertExpectedRevision(before.streamId, input.expectedRevision, before);
  const deleted = before.state.status === 'absent' ? before.state.deleted : undefined;
  const claim = deleted && deleted.status !== 'archived' ? nameClaim(deps, context, input.templateId, deleted.content.name) : undefined;
  return claimRunGiveBack(deps, { claim }, run);
}
