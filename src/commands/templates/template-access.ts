// What every template command shares: its dependencies, who may read a template's stream, loading it and
// running a command on it through the generic handler.
import {
  isVisibleTo,
  templateDecider,
  templateStreamId,
  assertTenantMayChange,
  type TemplateCommand,
  type TemplateEvent,
  type TemplateState,
} from '../../domain/templates/index.js';
import {
  handleCommand,
  loadAggregate,
  type CommandContext,
  type CommandDeps,
  type CommandResult,
  type StreamAccess,
} from '../handle-command.js';

export interface TemplateLimits {
  readonly maxTemplatesPerTenant: number;
}

export interface TemplateCommandDeps extends CommandDeps {
  readonly limits: TemplateLimits;
  /** Templates of a tenant that exist (read model). */
  countTemplates(tenantId: string): Promise<number>;
  /** Levels of a template's subtree counting itself (read model; 1 for a leaf). */
  subtreeDepth(templateId: string): Promise<number>;
  /** Direct children, of any tenant, that are neither archived nor deleted (read model, caught up with the
   * store first). */
  activeChildren(templateId: string): Promise<{ templateId: string; tenantId: string }[]>;
}

export type TemplateCommandResult = CommandResult<TemplateState, TemplateEvent>;

export interface TemplateTarget {
  readonly templateId: string;
  /** The revision the caller last saw (HTTP If-Match). */
  readonly expectedRevision?: bigint;
}

/** Readable: the owner's, or public, or system. Absent streams are "readable" so creation can proceed. */
export const templateAccess: StreamAccess<TemplateState> = (state, tenantId) =>
  state.status === 'absent' ||
  isVisibleTo({ ownerTenantId: state.ownerTenantId, isPublic: state.content.isPublic, isSystemTemplate: state.isSystemTemplate }, tenantId);

/** The template's stream folded, as the caller may see it (another tenant's private one is not found). */
export const loadTemplate = (deps: CommandDeps, context: CommandContext, templateId: string) =>
  loadAggregate(deps, templateDecider, templateStreamId(templateId), { tenantId: context.tenantId, access: templateAccess });

/** Only the owner changes a template; system templates are read-only. */
export const ownerOnly = (context: CommandContext) => (state: TemplateState) => assertTenantMayChange(state, context.tenantId);

/** Runs a template command through the generic handler, with the caller's If-Match when given. */
export function runTemplateCommand(
  deps: CommandDeps,
  context: CommandContext,
  target: TemplateTarget,
  command: TemplateCommand,
  authorize: (state: TemplateState) => void,
): Promise<TemplateCommandResult> {
  return handleCommand(deps, templateDecider, {
    streamId: templateStreamId(target.templateId),
    command,
    context,
    access: templateAccess,
    authorize,
    ...(target.expectedRevision !== undefined ? { expectedRevision: target.expectedRevision } : {}),
  });
}
