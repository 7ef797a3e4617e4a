// Template commands: the aggregate's decider, plus the rules that need more than one stream:
// - tenancy: owners change their templates; public and system templates are readable (favorite, use) by
//   every tenant; system templates are read-only; another tenant's private template is "not found";
// - the name is unique per tenant among templates that are not archived (reservation streams);
// - a parent must be visible to the caller, the chain acyclic and at most 10 deep (checked on the
//   ancestors' streams, so it never trusts a lagging read model);
// - at most `maxTemplatesPerTenant` templates per tenant (counted on the read model: approximate under
//   a burst of concurrent creates, by at most the projection's lag).
import {
  assertTenantMayChange,
  isVisibleTo,
  templateDecider,
  validateParentChain,
  type CreateTemplateData,
  type LiveTemplateState,
  type RecordTemplateUsageData,
  type TemplateChanges,
  type TemplateCommand,
  type TemplateEvent,
  type TemplateState,
  type TemplateTag,
  type TemplateTagKey,
  templateFavoriteStreamId,
  templateStreamId,
  templateUsageStreamId,
} from '../domain/templates/index.js';
import { RuleViolation } from '../domain/rule-violation.js';
import type { Decider } from '../domain/decider.js';
import { WrongExpectedRevisionError, type Position } from '../ports/event-store.js';
import { deterministicUuid } from './deterministic-uuid.js';
import { boundsAfter, checkInheritedParticipants, checkTemplateCategory } from './template-references.js';
import { assertExpectedRevision, eventMetadata, handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult, type StreamAccess } from './handle-command.js';
import { giveBack, normalizeReservedValue, withClaim, type ReservationRequest } from './reservations.js';

export const TEMPLATE_NAME_SCOPE = 'template.name';

export interface TemplateLimits {
  readonly maxTemplatesPerTenant: number;
}

export interface TemplateCommandDeps extends CommandDeps {
  readonly limits: TemplateLimits;
  /** Templates of a tenant that exist (read model). */
  countTemplates(tenantId: string): Promise<number>;
  /** Levels of a template's subtree counting itself (read model; 1 for a leaf). */
  subtreeDepth(templateId: string): Promise<number>;
}

export type TemplateCommandResult = CommandResult<TemplateState, TemplateEvent>;

export interface TemplateTarget {
  readonly templateId: string;
  /** The revision the caller last saw (HTTP If-Match). */
  readonly expectedRevision?: bigint;
}

/** Readable: the owner's, or public, or system. Absent streams are "readable" so creation can proceed. */
export const templateAccess: StreamAccess<TemplateState> = (state, tenantId) =>
  state.status === 'absent' || isVisibleTo({ ownerTenantId: state.ownerTenantId, isPublic: state.content.isPublic, isSystemTemplate: state.isSystemTemplate }, tenantId);

/** Favorites are per user; user ids are only unique inside a tenant. */
export const favoriteUserKey = (tenantId: string, userId: string) => `${tenantId}:${userId}`;

const holdsNameState = (state: TemplateState, name: string) =>
  state.status !== 'absent' && state.status !== 'archived' && normalizeReservedValue(state.content.name) === normalizeReservedValue(name);

function nameClaim(deps: CommandDeps, context: CommandContext, templateId: string, name: string): ReservationRequest {
  return {
    scope: TEMPLATE_NAME_SCOPE,
    tenantId: context.tenantId,
    value: name.trim(),
    ownerStreamId: templateStreamId(templateId),
    context,
    field: 'name',
    stillHolds: async (owner) => {
      try {
        return holdsNameState((await loadAggregate(deps, templateDecider, owner, { tenantId: context.tenantId, access: templateAccess })).state, name);
      } catch (error) {
        if (error instanceof RuleViolation && error.kind === 'not_found') return false;
        throw error;
      }
    },
  };
}

const load = (deps: CommandDeps, context: CommandContext, templateId: string) =>
  loadAggregate(deps, templateDecider, templateStreamId(templateId), { tenantId: context.tenantId, access: templateAccess });

const ownerOnly = (context: CommandContext) => (state: TemplateState) => assertTenantMayChange(state, context.tenantId);

function run(
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

/**
 * Checks a parent for `templateId`: visible to the caller (isVisibleTo, the rule under which content
 * flows at all: another tenant's private template is "not found" as a parent, as everywhere), and the
 * chain it makes acyclic and at most MAX_INHERITANCE_DEPTH deep. Ancestors above the parent are read
 * whatever their tenant, for their links only: a public parent may itself inherit from its owner's
 * private template, and what reaches the child is then the parent's effective content, which its owner
 * published.
 */
async function checkParent(deps: TemplateCommandDeps, context: CommandContext, templateId: string, parentTemplateId: string | null, subtreeDepth: number): Promise<void> {
  if (parentTemplateId === null) return;
  const parent = await load(deps, context, parentTemplateId).catch((error: unknown) => {
    if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
    throw error;
  });
  if (!parent || parent.state.status === 'absent') {
    throw new RuleViolation('template.parent.not_found', 'the parent template does not exist', 'not_found', 'parentTemplateId');
  }
  // Snapshot of the chain above the parent, read from the streams (at most 10 reads, stops at a loop).
  const links = new Map<string, string | null>([[parentTemplateId.toLowerCase(), parent.state.parentTemplateId]]);
  for (let next = parent.state.parentTemplateId; next !== null && !links.has(next) && links.size <= 11; ) {
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

export async function createTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: Omit<CreateTemplateData, 'ownerTenantId'>,
): Promise<TemplateCommandResult> {
  const templateId = input.templateId.toLowerCase();
  const command: TemplateCommand = { type: 'CreateTemplate', data: { ...input, templateId, ownerTenantId: context.tenantId } };
  templateDecider.decide(command, templateDecider.initialState()); // bad input fails before anything else
  if ((await deps.countTemplates(context.tenantId)) >= deps.limits.maxTemplatesPerTenant) {
    throw new RuleViolation('template.tenant.limit', `a tenant has at most ${deps.limits.maxTemplatesPerTenant} templates`, 'conflict');
  }
  await checkParent(deps, context, templateId, input.parentTemplateId?.toLowerCase() ?? null, 1);
  await checkCreateReferences(deps, context, input).catch(async (error: unknown) => {
    // A retry of a create that succeeded is answered with its first result even if the category was
    // archived since: only a refusal costs this read of the template's stream.
    if (!(error instanceof RuleViolation)) throw error;
    const existing = await load(deps, context, templateId).catch(() => undefined);
    if (!existing?.events.some((event) => event.metadata.commandId === context.commandId)) throw error;
  });
  // No read of the template's stream first: the claim is idempotent per owner, and the handler appends
  // with no_stream, falling back to a full load for a retry (answered with the first result) or a clash
  // (template.exists, after which the claim is given back unless that template holds the name).
  return withClaim(deps, nameClaim(deps, context, templateId, input.name), () =>
    handleCommand(deps, templateDecider, { streamId: templateStreamId(templateId), command, context, access: templateAccess, expectNew: true }),
  );
}

export async function updateTemplate(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { changes: TemplateChanges }): Promise<TemplateCommandResult> {
  const command: TemplateCommand = { type: 'UpdateTemplate', data: input.changes };
  const before = await load(deps, context, input.templateId);
  const handled = before.events.some((event) => event.metadata.commandId === context.commandId);
  if (!handled) await checkUpdateReferences(deps, context, before.state, command, input.changes);
  const newName = input.changes.name;
  let result: TemplateCommandResult;
  if (handled || newName === undefined) {
    result = await run(deps, context, input, command, ownerOnly(context));
  } else {
    assertTenantMayChange(before.state, context.tenantId);
    assertExpectedRevision(templateStreamId(input.templateId), input.expectedRevision, before);
    templateDecider.decide(command, before.state); // bad input before any claim
    const keepsName = holdsNameState(before.state, newName);
    result = keepsName
      ? await run(deps, context, input, command, ownerOnly(context))
      : await withClaim(deps, nameClaim(deps, context, input.templateId, newName), () => run(deps, context, input, command, ownerOnly(context)));
  }
  // Give back the names this command's events moved away from.
  if (newName !== undefined && before.state.status !== 'absent' && !holdsNameState(before.state, newName)) {
    await giveBack(deps, nameClaim(deps, context, input.templateId, before.state.content.name));
  }
  return result;
}

/** The category and the inherited participant bounds of a new template. */
async function checkCreateReferences(deps: TemplateCommandDeps, context: CommandContext, input: Omit<CreateTemplateData, 'ownerTenantId'>): Promise<void> {
  await checkTemplateCategory(deps, context, input.categoryId);
  const bounds = boundsAfter(templateDecider.initialState(), { defaultMinParticipants: input.defaultMinParticipants ?? null, defaultMaxParticipants: input.defaultMaxParticipants ?? null });
  await checkInheritedParticipants(deps, context, input.parentTemplateId ?? null, bounds.own, bounds.field ?? 'parentTemplateId');
}

/** The category and the inherited participant bounds an update leads to, checked before any claim. */
async function checkUpdateReferences(deps: TemplateCommandDeps, context: CommandContext, state: TemplateState, command: TemplateCommand, changes: TemplateChanges): Promise<void> {
  assertTenantMayChange(state, context.tenantId);
  templateDecider.decide(command, state); // bad input first
  if (changes.categoryId && changes.categoryId.toLowerCase() !== state.content.categoryId?.toLowerCase()) await checkTemplateCategory(deps, context, changes.categoryId);
  const bounds = boundsAfter(state, changes);
  if (bounds.field) await checkInheritedParticipants(deps, context, state.parentTemplateId, bounds.own, bounds.field);
}

export async function changeTemplateParent(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { parentTemplateId: string | null }): Promise<TemplateCommandResult> {
  const command: TemplateCommand = { type: 'ChangeTemplateParent', data: { parentTemplateId: input.parentTemplateId?.toLowerCase() ?? null } };
  const before = await load(deps, context, input.templateId);
  if (!before.events.some((event) => event.metadata.commandId === context.commandId)) {
    assertTenantMayChange(before.state, context.tenantId);
    await checkParent(deps, context, input.templateId, input.parentTemplateId, await deps.subtreeDepth(input.templateId.toLowerCase()));
    await checkInheritedParticipants(deps, context, input.parentTemplateId, before.state.content, 'parentTemplateId');
  }
  return run(deps, context, input, command, ownerOnly(context));
}

const STATUS_COMMANDS = { activate: 'ActivateTemplate', archive: 'ArchiveTemplate', deprecate: 'DeprecateTemplate', unarchive: 'UnarchiveTemplate' } as const;
export type TemplateStatusAction = keyof typeof STATUS_COMMANDS;

export async function changeTemplateStatus(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { action: TemplateStatusAction }): Promise<TemplateCommandResult> {
  const command = { type: STATUS_COMMANDS[input.action], data: {} } as TemplateCommand;
  if (input.action !== 'unarchive') {
    const result = await run(deps, context, input, command, ownerOnly(context));
    if (input.action === 'archive' && result.state.status !== 'absent') await giveBack(deps, nameClaim(deps, context, input.templateId, result.state.content.name));
    return result;
  }
  // Back from the archive takes the name again, if it is still free.
  const before = await load(deps, context, input.templateId);
  if (before.events.some((event) => event.metadata.commandId === context.commandId)) return run(deps, context, input, command, ownerOnly(context));
  assertTenantMayChange(before.state, context.tenantId);
  assertExpectedRevision(templateStreamId(input.templateId), input.expectedRevision, before);
  templateDecider.decide(command, before.state);
  if (before.state.status !== 'archived') return run(deps, context, input, command, ownerOnly(context));
  return withClaim(deps, nameClaim(deps, context, input.templateId, before.state.content.name), () => run(deps, context, input, command, ownerOnly(context)));
}

export async function restoreTemplateVersion(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { version: number }): Promise<TemplateCommandResult> {
  const before = await load(deps, context, input.templateId);
  const command: TemplateCommand = { type: 'RestoreTemplateVersion', data: { version: input.version } };
  if (before.events.some((event) => event.metadata.commandId === context.commandId)) return run(deps, context, input, command, ownerOnly(context));
  assertTenantMayChange(before.state, context.tenantId);
  assertExpectedRevision(templateStreamId(input.templateId), input.expectedRevision, before);
  const restored = (before.state as LiveTemplateState).versions[input.version];
  if (restored) await checkInheritedParticipants(deps, context, before.state.parentTemplateId, restored, 'version');
  if (!restored || holdsNameState(before.state, restored.name)) return run(deps, context, input, command, ownerOnly(context));
  // The old version has another name: it must be free now.
  const result = await withClaim(deps, nameClaim(deps, context, input.templateId, restored.name), () => run(deps, context, input, command, ownerOnly(context)));
  await giveBack(deps, nameClaim(deps, context, input.templateId, before.state.content.name));
  return result;
}

export function addTemplateTags(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { tags: TemplateTag[] }): Promise<TemplateCommandResult> {
  return run(deps, context, input, { type: 'AddTemplateTags', data: { tags: input.tags } }, ownerOnly(context));
}

export function removeTemplateTags(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { tags: TemplateTagKey[] }): Promise<TemplateCommandResult> {
  return run(deps, context, input, { type: 'RemoveTemplateTags', data: { tags: input.tags } }, ownerOnly(context));
}

/** One favorite stream per (template, user): user ids are only unique inside a tenant, hence the user key. */
const favoriteStreamOf = (templateId: string, userKey: string) => templateFavoriteStreamId(deterministicUuid(`favorite:${templateId.toLowerCase()}`, userKey));

/** What a favorite or usage command answers: the template's own revision (its ETag) and the position of
 * the side event for read-your-writes. */
export interface TemplateSideEffectResult {
  readonly revision: bigint;
  readonly position: Position;
  readonly idempotent: boolean;
  readonly version: number;
}

type FavoriteState = { favorited: boolean };
type FavoriteEvent = { type: 'TemplateFavorited' | 'TemplateUnfavorited'; data: { templateId: string; userId: string } };
const favoriteDecider: Decider<FavoriteState, FavoriteEvent, FavoriteEvent> = {
  initialState: () => ({ favorited: false }),
  // The command is the event it asks for; asking for the current state is a no-op.
  decide: (command, state) => ((command.type === 'TemplateFavorited') === state.favorited ? [] : [command]),
  evolve: (_state, event) => ({ favorited: event.type === 'TemplateFavorited' }),
};

/** The template a favorite or usage is about, visible to the caller and, with If-Match, unchanged. */
async function loadVisibleTemplate(deps: TemplateCommandDeps, context: CommandContext, target: TemplateTarget) {
  const loaded = await load(deps, context, target.templateId);
  if (loaded.state.status === 'absent') throw new RuleViolation('template.not_found', 'no such template', 'not_found');
  if (target.expectedRevision !== undefined && target.expectedRevision !== loaded.revision) {
    throw new WrongExpectedRevisionError(templateStreamId(target.templateId), target.expectedRevision, loaded.revision ?? 'no_stream');
  }
  return { ...loaded, state: loaded.state };
}

export async function favoriteTemplate(deps: TemplateCommandDeps, context: CommandContext, input: TemplateTarget & { favorite: boolean }): Promise<TemplateSideEffectResult> {
  const templateId = input.templateId.toLowerCase();
  const userId = favoriteUserKey(context.tenantId, context.userId);
  const template = await loadVisibleTemplate(deps, context, { ...input, templateId });
  // The template's rules (archived templates take no new favorites) on its current state.
  templateDecider.decide(input.favorite ? { type: 'FavoriteTemplate', data: { userId } } : { type: 'UnfavoriteTemplate', data: { userId } }, template.state);
  const event: FavoriteEvent = { type: input.favorite ? 'TemplateFavorited' : 'TemplateUnfavorited', data: { templateId, userId } };
  const result = await handleCommand(deps, favoriteDecider, { streamId: favoriteStreamOf(templateId, userId), command: event, context });
  return { revision: template.revision!, version: template.state.version, position: result.position, idempotent: result.idempotent };
}

export async function recordTemplateUsage(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { usage: Omit<RecordTemplateUsageData, 'usedBy'> },
): Promise<TemplateSideEffectResult> {
  const templateId = input.templateId.toLowerCase();
  const template = await loadVisibleTemplate(deps, context, { ...input, templateId });
  // Validation and the status rule come from the aggregate; the event goes to the usage stream.
  const [event] = templateDecider.decide({ type: 'RecordTemplateUsage', data: { ...input.usage, usedBy: context.userId } }, template.state);
  const streamId = templateUsageStreamId(templateId);
  const appended = await deps.eventStore.append(
    streamId,
    [
      {
        // From the command id: a retried request appends nothing new.
        id: deterministicUuid(streamId, `${context.commandId}:0`),
        type: event!.type,
        data: { ...event!.data, templateId },
        metadata: eventMetadata(context, deps.clock().toISOString(), 1),
      },
    ],
    { expectedRevision: 'any' },
  );
  return { revision: template.revision!, version: template.state.version, position: appended.position, idempotent: appended.idempotent ?? false };
}
