// Favorites of a template, one small stream per (template, user) beside the template's own (see
// template-streams.ts): favoriting twice or unfavoriting a non-favorite emits nothing. The one rule that
// needs the template itself (an archived template takes no new favorites) is `assertTakesFavorites`, which
// the command layer runs on the template's state first.
import type { Decider } from '../decider.js';
import { templateArchived } from './template-lifecycle.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';
import { templateNotFound } from './template-tenancy.js';
import { validUserId } from './template-validation.js';

/** `userId` is the user key the command layer derives (user ids are only unique inside a tenant). */
export type TemplateFavoriteData = { templateId: string; userId: string };

export type TemplateFavoriteCommand =
  { type: 'FavoriteTemplate'; data: TemplateFavoriteData } | { type: 'UnfavoriteTemplate'; data: TemplateFavoriteData };

export type TemplateFavoriteEvent =
  { type: 'TemplateFavorited'; data: TemplateFavoriteData } | { type: 'TemplateUnfavorited'; data: TemplateFavoriteData };

export const TEMPLATE_FAVORITE_EVENT_TYPES: readonly TemplateFavoriteEvent['type'][] = ['TemplateFavorited', 'TemplateUnfavorited'];

export type TemplateFavoriteState = { favorited: boolean };

/** A template that exists and is not archived may be favorited (unfavoriting needs only that it exists). */
export function assertTakesFavorites(template: TemplateState): asserts template is LiveTemplateState {
  if (template.status === 'absent') throw templateNotFound();
  if (template.status === 'archived') throw templateArchived();
}

function decide(command: TemplateFavoriteCommand, state: TemplateFavoriteState): TemplateFavoriteEvent[] {
  const data = { templateId: command.data.templateId, userId: validUserId(command.data.userId, 'userId') };
  if (command.type === 'FavoriteTemplate') return state.favorited ? [] : [{ type: 'TemplateFavorited', data }];
  return state.favorited ? [{ type: 'TemplateUnfavorited', data }] : [];
}

export const templateFavoriteDecider: Decider<TemplateFavoriteState, TemplateFavoriteCommand, TemplateFavoriteEvent> = {
  initialState: () => ({ favorited: false }),
  decide,
  evolve: (_state, event) => ({ favorited: event.type === 'TemplateFavorited' }),
};
