// Favorites and usages of a template, written to their own streams beside the template's (see
// template-streams.ts in the domain). Public and system templates are favorited and used by every tenant
// that sees them; the template's own state decides whether it takes them (assertTakesFavorites,
// assertUsable). The answer carries the template's revision (its ETag), which they never move.
import { assertExpectedRevision, eventMetadata, handleCommand, type CommandContext } from '../handle-command.js';
import type { Position } from '../../ports/event-store.js';
import {
  assertTakesFavorites,
  assertUsable,
  templateFavoriteDecider,
  templateFavoriteStreamId,
  templateNotFound,
  templateUsageDecider,
  templateUsageStreamId,
  type RecordTemplateUsageData,
  type TemplateFavoriteCommand,
} from '../../domain/templates/index.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import { loadTemplate, type TemplateCommandDeps, type TemplateTarget } from './template-access.js';

/** Favorites are per user; user ids are only unique inside a tenant. */
export const favoriteUserKey = (tenantId: string, userId: string) => `${tenantId}:${userId}`;

/** One favorite stream per (template, user): user ids are only unique inside a tenant, hence the user key. */
const favoriteStreamOf = (templateId: string, userKey: string) =>
  templateFavoriteStreamId(deterministicUuid(`favorite:${templateId.toLowerCase()}`, userKey));

/** What a favorite or usage command answers: the template's own revision (its ETag) and the position of
 * the side event for read-your-writes. */
export interface TemplateSideEffectResult {
  readonly revision: bigint;
  readonly position: Position;
  readonly idempotent: boolean;
  readonly version: number;
}

/** The template a favorite or usage is about, visible to the caller and, with If-Match, unchanged. */
async function loadVisibleTemplate(deps: TemplateCommandDeps, context: CommandContext, target: TemplateTarget) {
  const loaded = await loadTemplate(deps, context, target.templateId);
  if (loaded.state.status === 'absent' || loaded.revision === undefined) throw templateNotFound();
  assertExpectedRevision(loaded.streamId, target.expectedRevision, loaded);
  return { revision: loaded.revision, state: loaded.state };
}

export async function favoriteTemplate(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { favorite: boolean },
): Promise<TemplateSideEffectResult> {
  const templateId = input.templateId.toLowerCase();
  const userId = favoriteUserKey(context.tenantId, context.userId);
  const template = await loadVisibleTemplate(deps, context, { ...input, templateId });
  if (input.favorite) assertTakesFavorites(template.state);
  const command: TemplateFavoriteCommand = {
    type: input.favorite ? 'FavoriteTemplate' : 'UnfavoriteTemplate',
    data: { templateId, userId },
  };
  const result = await handleCommand(deps, templateFavoriteDecider, { streamId: favoriteStreamOf(templateId, userId), command, context });
  return { revision: template.revision, version: template.state.version, position: result.position, idempotent: result.idempotent };
}

export async function recordTemplateUsage(
  deps: TemplateCommandDeps,
  context: CommandContext,
  input: TemplateTarget & { usage: Omit<RecordTemplateUsageData, 'usedBy'> },
): Promise<TemplateSideEffectResult> {
  const templateId = input.templateId.toLowerCase();
  const template = await loadVisibleTemplate(deps, context, { ...input, templateId });
  assertUsable(template.state);
  const [event] = templateUsageDecider.decide(
    { type: 'RecordTemplateUsage', data: { ...input.usage, usedBy: context.userId, templateId, templateVersion: template.state.version } },
    templateUsageDecider.initialState(),
  );
  // The usage stream only grows: appended without reading it, with an id from the command id, so a
  // retried request appends nothing new.
  const streamId = templateUsageStreamId(templateId);
  const appended = await deps.eventStore.append(
    streamId,
    [
      {
        id: deterministicUuid(streamId, `${context.commandId}:0`),
        type: event!.type,
        data: event!.data,
        metadata: eventMetadata(context, deps.clock().toISOString(), 1),
      },
    ],
    { expectedRevision: 'any' },
  );
  return {
    revision: template.revision,
    version: template.state.version,
    position: appended.position,
    idempotent: appended.idempotent ?? false,
  };
}
