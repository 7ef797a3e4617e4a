// A template's status and versions: archiving gives its name back, unarchiving and restoring a version
// with another name take one again (if it is still free).
import {
  assertMayChangeTemplateStatus,
  assertTenantMayChange,
  templateStreamId,
  type TemplateCommand,
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
  assertExpectedRevision(templateStreamId(input.templateId), input.expectedRevision, before);
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
  assertExpectedRevision(templateStreamId(input.templateId), input.expectedRevision, before);
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
