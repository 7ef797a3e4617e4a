// Favorites of a template: one stream per (template, user); the template's own state only decides whether
// it takes new favorites.
import { describe, expect, it } from 'vitest';
import {
  assertTakesFavorites,
  templateDecider,
  templateFavoriteDecider,
  type TemplateEvent,
  type TemplateFavoriteCommand,
  type TemplateFavoriteEvent,
  type TemplateState,
} from '../../../src/domain/templates/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

const TEMPLATE = '0b7c2a52-6f0e-4d7e-9a39-3f4f5e0f1c11';
const { given, stateAfter } = deciderSpec(templateFavoriteDecider);

const favorite = (userId = 'acme:u1'): TemplateFavoriteCommand => ({ type: 'FavoriteTemplate', data: { templateId: TEMPLATE, userId } });
const unfavorite = (userId = 'acme:u1'): TemplateFavoriteCommand => ({
  type: 'UnfavoriteTemplate',
  data: { templateId: TEMPLATE, userId },
});
const favorited: TemplateFavoriteEvent = { type: 'TemplateFavorited', data: { templateId: TEMPLATE, userId: 'acme:u1' } };
const unfavorited: TemplateFavoriteEvent = { type: 'TemplateUnfavorited', data: { templateId: TEMPLATE, userId: 'acme:u1' } };

const templateAfter = (...events: TemplateEvent[]): TemplateState => deciderSpec(templateDecider).stateAfter(events);
const [created] = templateDecider.decide(
  { type: 'CreateTemplate', data: { templateId: TEMPLATE, ownerTenantId: 'acme', name: 'Yoga', templateType: 'base' } },
  templateDecider.initialState(),
);
const archived: TemplateEvent = { type: 'TemplateArchived', data: { from: 'draft' } };

describe('Template favorite decider', () => {
  it('favorites once; favoriting twice emits nothing', () => {
    given().when(favorite()).then([favorited]);
    given(favorited).when(favorite()).then([]);
    given(favorited, unfavorited).when(favorite()).then([favorited]);
  });

  it('unfavorites only a favorite', () => {
    given(favorited).when(unfavorite()).then([unfavorited]);
    given().when(unfavorite()).then([]);
    given(favorited, unfavorited).when(unfavorite()).then([]);
  });

  it('refuses an empty or overlong user key', () => {
    given().when(favorite('')).thenRefuses('template.user_id.format', 'invalid', 'userId');
    given(favorited)
      .when(unfavorite('x'.repeat(201)))
      .thenRefuses('template.user_id.format', 'invalid', 'userId');
  });

  it('the last event says whether it is a favorite', () => {
    expect(stateAfter([favorited, unfavorited, favorited])).toEqual({ favorited: true });
    expect(stateAfter([favorited, unfavorited])).toEqual({ favorited: false });
  });
});

describe('assertTakesFavorites', () => {
  it('lets a draft, active or deprecated template take favorites', () => {
    expect(() => assertTakesFavorites(templateAfter(created!))).not.toThrow();
  });

  it('refuses a missing template and an archived one', () => {
    expect(refusal(() => assertTakesFavorites(templateAfter()))).toMatchObject({ rule: 'template.not_found', kind: 'not_found' });
    expect(refusal(() => assertTakesFavorites(templateAfter(created!, archived)))).toMatchObject({
      rule: 'template.archived',
      kind: 'conflict',
    });
  });
});
