// The Course template aggregate: given events, when a command, then events (or a refused rule).
import { describe, expect, it } from 'vitest';
import {
  TEMPLATE_JSON_MAX_BYTES,
  TEMPLATE_JSON_MAX_DEPTH,
  TEMPLATE_STATUSES,
  TEMPLATE_STATUS_TRANSITIONS,
  STATUS_COMMAND,
  assertMayChangeTemplateStatus,
  assertMayUpdateTemplate,
  assertTenantMayChange,
  assertTenantMayUndelete,
  assertValidTemplateCreate,
  templateDecider,
  type CreateTemplateData,
  type TemplateCommand,
  type TemplateContent,
  type TemplateEvent,
  type TemplateStatus,
  type TemplateTag,
} from '../../../src/domain/templates/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

const ID = '0b7c2a52-6f0e-4d7e-9a39-3f4f5e0f1c11';
const PARENT = '5d1f6a3e-2b4c-4e8f-9a10-1b2c3d4e5f60';
const OTHER_PARENT = '7e2a1b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b';
const CATEGORY = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const TENANT = 'acme';

const content: TemplateContent = {
  name: 'Yoga basics',
  description: null,
  categoryId: null,
  templateType: 'base',
  mergeStrategy: 'merge',
  selectiveKeys: [],
  defaultDuration: 60,
  defaultMaxParticipants: 12,
  defaultMinParticipants: 2,
  defaultPrice: null,
  defaultSkillLevel: null,
  dynamicProperties: {},
  validationRules: {},
  uiConfiguration: {},
  tags: [],
  isPublic: false,
};
const created: TemplateEvent = {
  type: 'TemplateCreated',
  data: { templateId: ID, ownerTenantId: TENANT, parentTemplateId: null, isSystemTemplate: false, status: 'draft', version: 1, ...content },
};
const activated: TemplateEvent = { type: 'TemplateActivated', data: { from: 'draft' } };
const archived: TemplateEvent = { type: 'TemplateArchived', data: { from: 'draft' } };
const deprecated: TemplateEvent = { type: 'TemplateDeprecated', data: { from: 'active' } };

const { given, stateAfter } = deciderSpec(templateDecider);

const baseData: CreateTemplateData = {
  templateId: ID,
  ownerTenantId: TENANT,
  name: 'Yoga basics',
  templateType: 'base',
  defaultDuration: 60,
  defaultMaxParticipants: 12,
  defaultMinParticipants: 2,
};
const create = (data: Partial<CreateTemplateData> = {}): TemplateCommand => ({ type: 'CreateTemplate', data: { ...baseData, ...data } });
const update = (data: Record<string, unknown>): TemplateCommand => ({ type: 'UpdateTemplate', data: data as never });
const changeParent = (parentTemplateId: string | null): TemplateCommand => ({ type: 'ChangeTemplateParent', data: { parentTemplateId } });
const restore = (version: number): TemplateCommand => ({ type: 'RestoreTemplateVersion', data: { version } });
const addTags = (tags: unknown[]): TemplateCommand => ({ type: 'AddTemplateTags', data: { tags: tags as TemplateTag[] } });
const removeTags = (tags: unknown[]): TemplateCommand => ({ type: 'RemoveTemplateTags', data: { tags: tags as TemplateTag[] } });
const statusCommand = (to: TemplateStatus): TemplateCommand => ({ type: STATUS_COMMAND[to], data: {} });
const updated = (changes: Partial<TemplateContent>, version: number): TemplateEvent => ({
  type: 'TemplateUpdated',
  data: { changes, version },
});
const tag = (name: string, type: TemplateTag['type'] = 'topic', value = ''): TemplateTag => ({ name, value, type });

/** A chain of JSON objects nested `depth` levels (the outer object counts as 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** Events that put a freshly created template into `status`. */
function eventsInto(status: TemplateStatus): TemplateEvent[] {
  switch (status) {
    case 'draft':
      return [created];
    case 'active':
      return [created, activated];
    case 'deprecated':
      return [created, activated, deprecated];
    case 'archived':
      return [created, archived];
  }
}

describe('Template decider', () => {
  describe('create', () => {
    it('creates a draft at version 1 with defaults filled in and the name trimmed', () => {
      given()
        .when(create({ name: '  Yoga basics ' }))
        .then([created]);
    });

    it('keeps every given field', () => {
      const data: CreateTemplateData = {
        ...baseData,
        description: 'Breathe',
        categoryId: CATEGORY,
        templateType: 'specialized',
        parentTemplateId: PARENT,
        mergeStrategy: 'selective',
        selectiveKeys: ['colors'],
        defaultPrice: { amountMinor: 1500, currency: 'EUR' },
        defaultSkillLevel: 'all_levels',
        dynamicProperties: { mat: true },
        validationRules: { minAge: 16 },
        uiConfiguration: { color: 'green' },
        tags: [{ name: ' Calm ', value: 'yes', type: 'skill' }],
        isPublic: true,
        isSystemTemplate: true,
      };
      const [event] = templateDecider.decide({ type: 'CreateTemplate', data }, stateAfter([]));
      expect(event).toEqual({
        type: 'TemplateCreated',
        data: { ...data, status: 'draft', version: 1, tags: [{ name: 'Calm', value: 'yes', type: 'skill' }] },
      });
    });

    it('refuses to create twice, whatever the status', () => {
      for (const status of TEMPLATE_STATUSES)
        given(...eventsInto(status))
          .when(create())
          .thenRefuses('template.exists', 'conflict', 'templateId');
    });

    it('refuses malformed ids and a parent equal to itself', () => {
      given()
        .when(create({ templateId: 'nope' }))
        .thenRefuses('template.id.format', 'invalid', 'templateId');
      given()
        .when(create({ ownerTenantId: 'Not A Tenant' }))
        .thenRefuses('template.owner.format', 'invalid', 'ownerTenantId');
      given()
        .when(create({ categoryId: 'x' }))
        .thenRefuses('template.category.format', 'invalid', 'categoryId');
      given()
        .when(create({ parentTemplateId: 'x' }))
        .thenRefuses('template.parent.format', 'invalid', 'parentTemplateId');
      given()
        .when(create({ parentTemplateId: ID.toUpperCase() }))
        .thenRefuses('template.parent.self', 'invalid', 'parentTemplateId');
    });

    it('checks the name: 1 to 255 characters once trimmed', () => {
      given()
        .when(create({ name: '   ' }))
        .thenRefuses('template.name.length', 'invalid', 'name');
      given()
        .when(create({ name: 'x'.repeat(256) }))
        .thenRefuses('template.name.length', 'invalid', 'name');
      expect(templateDecider.decide(create({ name: 'x'.repeat(255) }), stateAfter([]))).toHaveLength(1);
    });

    it('checks description, type, strategy, selective keys and flags', () => {
      given()
        .when(create({ description: 'x'.repeat(5001) }))
        .thenRefuses('template.description.length', 'invalid', 'description');
      expect(templateDecider.decide(create({ description: 'x'.repeat(5000) }), stateAfter([]))).toHaveLength(1);
      given()
        .when(create({ templateType: 'other' as never }))
        .thenRefuses('template.type.enum', 'invalid', 'templateType');
      given()
        .when(create({ mergeStrategy: 'mix' as never }))
        .thenRefuses('template.merge_strategy.enum', 'invalid', 'mergeStrategy');
      given()
        .when(create({ selectiveKeys: ['a', 'a'] }))
        .thenRefuses('template.selective_keys.invalid', 'invalid', 'selectiveKeys.1');
      given()
        .when(create({ isPublic: 'yes' as never }))
        .thenRefuses('template.flag.type', 'invalid', 'isPublic');
    });

    it('checks the duration: whole minutes from 1 to 10080, or null', () => {
      for (const bad of [0, -5, 10081, 1.5])
        given()
          .when(create({ defaultDuration: bad }))
          .thenRefuses('template.duration.range', 'invalid', 'defaultDuration');
      for (const good of [1, 10080, null])
        expect(templateDecider.decide(create({ defaultDuration: good }), stateAfter([]))).toHaveLength(1);
    });

    it('checks participants: whole numbers ≥ 1, min ≤ max, either may be null', () => {
      given()
        .when(create({ defaultMinParticipants: 0 }))
        .thenRefuses('template.participants.range', 'invalid', 'defaultMinParticipants');
      given()
        .when(create({ defaultMaxParticipants: 2.5 }))
        .thenRefuses('template.participants.range', 'invalid', 'defaultMaxParticipants');
      given()
        .when(create({ defaultMinParticipants: 13, defaultMaxParticipants: 12 }))
        .thenRefuses('template.participants.order', 'invalid', 'defaultMinParticipants');
      for (const [min, max] of [
        [12, 12],
        [null, 3],
        [30, null],
        [null, null],
      ] as const) {
        expect(templateDecider.decide(create({ defaultMinParticipants: min, defaultMaxParticipants: max }), stateAfter([]))).toHaveLength(
          1,
        );
      }
    });

    it('checks the price: minor units ≥ 0 and an ISO currency', () => {
      given()
        .when(create({ defaultPrice: { amountMinor: -1, currency: 'EUR' } }))
        .thenRefuses('template.price.range', 'invalid', 'defaultPrice.amountMinor');
      given()
        .when(create({ defaultPrice: { amountMinor: 9.99, currency: 'EUR' } }))
        .thenRefuses('template.price.range', 'invalid', 'defaultPrice.amountMinor');
      given()
        .when(create({ defaultPrice: { amountMinor: 100, currency: 'eur' } }))
        .thenRefuses('template.price.currency', 'invalid', 'defaultPrice.currency');
      given()
        .when(create({ defaultPrice: { amountMinor: 100, currency: 'EURO' } }))
        .thenRefuses('template.price.currency', 'invalid', 'defaultPrice.currency');
      expect(templateDecider.decide(create({ defaultPrice: { amountMinor: 0, currency: 'TWD' } }), stateAfter([]))).toHaveLength(1);
    });

    it('checks the skill level', () => {
      given()
        .when(create({ defaultSkillLevel: 'guru' as never }))
        .thenRefuses('template.skill_level.enum', 'invalid', 'defaultSkillLevel');
    });

    it('limits each JSON object to 64 KiB and 16 levels', () => {
      const big = { text: 'x'.repeat(TEMPLATE_JSON_MAX_BYTES) };
      given()
        .when(create({ dynamicProperties: big }))
        .thenRefuses('template.properties.size', 'invalid', 'dynamicProperties');
      const fits = { t: 'x'.repeat(TEMPLATE_JSON_MAX_BYTES - '{"t":""}'.length) };
      expect(templateDecider.decide(create({ dynamicProperties: fits }), stateAfter([]))).toHaveLength(1);
      const multibyte = { t: 'é'.repeat(TEMPLATE_JSON_MAX_BYTES / 2) }; // 2 bytes each in UTF-8
      given()
        .when(create({ uiConfiguration: multibyte }))
        .thenRefuses('template.properties.size', 'invalid', 'uiConfiguration');
      given()
        .when(create({ validationRules: nested(TEMPLATE_JSON_MAX_DEPTH + 1) as never }))
        .thenRefuses('template.properties.depth', 'invalid', 'validationRules');
      expect(templateDecider.decide(create({ validationRules: nested(TEMPLATE_JSON_MAX_DEPTH) as never }), stateAfter([]))).toHaveLength(1);
      given()
        .when(create({ uiConfiguration: [] as never }))
        .thenRefuses('template.properties.type', 'invalid', 'uiConfiguration');
    });

    it('checks tags: at most 50, names 1–64, values ≤ 256, known types, unique by type and case-insensitive name', () => {
      const many = Array.from({ length: 51 }, (_, i) => tag(`t${i}`));
      given()
        .when(create({ tags: many }))
        .thenRefuses('template.tags.count', 'invalid', 'tags');
      expect(templateDecider.decide(create({ tags: many.slice(0, 50) }), stateAfter([]))).toHaveLength(1);
      given()
        .when(create({ tags: [tag('a'), tag('b'), tag('c'), tag(' ')] }))
        .thenRefuses('template.tags.name', 'invalid', 'tags.3.name');
      given()
        .when(create({ tags: [tag('x'.repeat(65))] }))
        .thenRefuses('template.tags.name', 'invalid', 'tags.0.name');
      given()
        .when(create({ tags: [tag('a', 'topic', 'v'.repeat(257))] }))
        .thenRefuses('template.tags.value', 'invalid', 'tags.0.value');
      given()
        .when(create({ tags: [tag('a', 'mood' as never)] }))
        .thenRefuses('template.tags.type', 'invalid', 'tags.0.type');
      given()
        .when(create({ tags: [tag('Yoga'), tag('yoga ')] }))
        .thenRefuses('template.tags.duplicate', 'invalid', 'tags.1.name');
      expect(templateDecider.decide(create({ tags: [tag('Yoga', 'topic'), tag('yoga', 'skill')] }), stateAfter([]))).toHaveLength(1);
    });
  });

  it('refuses every other command on a template that was never created', () => {
    const commands: TemplateCommand[] = [
      update({ name: 'x' }),
      changeParent(PARENT),
      restore(1),
      addTags([tag('a')]),
      removeTags([tag('a')]),
    ];
    for (const to of TEMPLATE_STATUSES) commands.push(statusCommand(to));
    for (const command of commands) given().when(command).thenRefuses('template.not_found', 'not_found');
  });

  describe('update', () => {
    it('emits only the fields that change, with the next version', () => {
      given(created)
        .when(update({ name: ' Yoga basics ', defaultDuration: 90, description: null, dynamicProperties: {} }))
        .then([updated({ defaultDuration: 90 }, 2)]);
      given(created)
        .when(
          update({
            description: 'Stretch',
            defaultPrice: { amountMinor: 500, currency: 'USD' },
            uiConfiguration: { b: 1, a: 2 },
            isPublic: true,
          }),
        )
        .then([
          updated(
            {
              description: 'Stretch',
              defaultPrice: { amountMinor: 500, currency: 'USD' },
              uiConfiguration: { b: 1, a: 2 },
              isPublic: true,
            },
            2,
          ),
        ]);
    });

    it('emits nothing when nothing changes (JSON compared by value, key order ignored)', () => {
      const withJson = { ...created, data: { ...created.data, uiConfiguration: { a: 1, b: [1, { c: 2 }] } } } as TemplateEvent;
      given(withJson)
        .when(update({ uiConfiguration: { b: [1, { c: 2 }], a: 1 }, name: 'Yoga basics' }))
        .then([]);
      given(created).when(update({})).then([]);
    });

    it('checks participant order against the current values', () => {
      given(created)
        .when(update({ defaultMinParticipants: 13 }))
        .thenRefuses('template.participants.order', 'invalid', 'defaultMinParticipants');
      given(created)
        .when(update({ defaultMaxParticipants: 1 }))
        .thenRefuses('template.participants.order', 'invalid', 'defaultMinParticipants');
      given(created)
        .when(update({ defaultMaxParticipants: null, defaultMinParticipants: 40 }))
        .then([updated({ defaultMaxParticipants: null, defaultMinParticipants: 40 }, 2)]);
    });

    it('checks every field as create does', () => {
      given(created)
        .when(update({ name: '' }))
        .thenRefuses('template.name.length', 'invalid', 'name');
      given(created)
        .when(update({ defaultDuration: 10081 }))
        .thenRefuses('template.duration.range', 'invalid', 'defaultDuration');
      given(created)
        .when(update({ defaultSkillLevel: 'pro' }))
        .thenRefuses('template.skill_level.enum', 'invalid', 'defaultSkillLevel');
      given(created)
        .when(update({ dynamicProperties: nested(17) }))
        .thenRefuses('template.properties.depth', 'invalid', 'dynamicProperties');
      given(created)
        .when(update({ defaultPrice: { amountMinor: 1, currency: 'XX' } }))
        .thenRefuses('template.price.currency', 'invalid', 'defaultPrice.currency');
    });

    it('works on active and deprecated templates, not on archived ones', () => {
      given(...eventsInto('active'))
        .when(update({ name: 'New' }))
        .then([updated({ name: 'New' }, 2)]);
      given(...eventsInto('deprecated'))
        .when(update({ name: 'New' }))
        .then([updated({ name: 'New' }, 2)]);
      given(...eventsInto('archived'))
        .when(update({ name: 'New' }))
        .thenRefuses('template.archived', 'conflict');
    });
  });

  describe('parent', () => {
    it('changes the parent with a new version; the same parent is no change', () => {
      given(created)
        .when(changeParent(PARENT))
        .then([{ type: 'TemplateParentChanged', data: { parentTemplateId: PARENT, previousParentTemplateId: null, version: 2 } }]);
      const reparented: TemplateEvent = {
        type: 'TemplateParentChanged',
        data: { parentTemplateId: PARENT, previousParentTemplateId: null, version: 2 },
      };
      given(created, reparented).when(changeParent(PARENT)).then([]);
      given(created, reparented)
        .when(changeParent(OTHER_PARENT))
        .then([{ type: 'TemplateParentChanged', data: { parentTemplateId: OTHER_PARENT, previousParentTemplateId: PARENT, version: 3 } }]);
      given(created, reparented)
        .when(changeParent(null))
        .then([{ type: 'TemplateParentChanged', data: { parentTemplateId: null, previousParentTemplateId: PARENT, version: 3 } }]);
    });

    it('refuses itself, a malformed id and an archived template', () => {
      given(created).when(changeParent(ID)).thenRefuses('template.parent.self', 'invalid', 'parentTemplateId');
      given(created).when(changeParent('nope')).thenRefuses('template.parent.format', 'invalid', 'parentTemplateId');
      given(...eventsInto('archived'))
        .when(changeParent(PARENT))
        .thenRefuses('template.archived', 'conflict');
    });
  });

  describe('lifecycle', () => {
    it('allows exactly the transitions of the table, for every pair of statuses', () => {
      for (const from of TEMPLATE_STATUSES) {
        for (const to of TEMPLATE_STATUSES) {
          const history = eventsInto(from);
          if (from === to) {
            given(...history)
              .when(statusCommand(to))
              .then([]);
          } else if (TEMPLATE_STATUS_TRANSITIONS[from].includes(to)) {
            const events = templateDecider.decide(statusCommand(to), stateAfter(history));
            expect(events).toHaveLength(1);
            expect(events[0]!.data).toEqual({ from });
            expect(stateAfter([...history, ...events]).status).toBe(to);
          } else {
            given(...history)
              .when(statusCommand(to))
              .thenRefuses('template.status.transition', 'conflict', 'resource.status');
          }
        }
      }
    });

    it('has the documented table', () => {
      expect(TEMPLATE_STATUS_TRANSITIONS).toEqual({
        draft: ['active', 'archived'],
        active: ['deprecated', 'archived'],
        deprecated: ['active', 'archived'],
        archived: ['draft'],
      });
    });

    it('names the events after the target status', () => {
      given(created).when(statusCommand('active')).then([activated]);
      given(created).when(statusCommand('archived')).then([archived]);
      given(...eventsInto('active'))
        .when(statusCommand('deprecated'))
        .then([deprecated]);
      given(created, archived)
        .when(statusCommand('draft'))
        .then([{ type: 'TemplateUnarchived', data: { from: 'archived' } }]);
    });
  });

  describe('versions', () => {
    const v2 = updated({ name: 'Yoga two', defaultDuration: 75 }, 2);
    const v3 = updated({ name: 'Yoga three' }, 3);

    it('restores an older version as a new version, keeping history', () => {
      given(created, v2, v3)
        .when(restore(1))
        .then([{ type: 'TemplateVersionRestored', data: { restoredFrom: 1, version: 4, content } }]);
      const restored = templateDecider.decide(restore(1), stateAfter([created, v2, v3]));
      const state = stateAfter([created, v2, v3, ...restored]);
      if (state.status === 'absent') throw new Error('absent');
      expect(state.version).toBe(4);
      expect(state.content).toEqual(content);
      expect(state.versions[2]).toEqual({ ...content, name: 'Yoga two', defaultDuration: 75 });
      expect(state.versions[3]).toEqual({ ...content, name: 'Yoga three', defaultDuration: 75 });
      expect(Object.keys(state.versions)).toEqual(['1', '2', '3', '4']);
      given(created, v2, v3, ...restored)
        .when(restore(3))
        .then([{ type: 'TemplateVersionRestored', data: { restoredFrom: 3, version: 5, content: state.versions[3]! } }]);
    });

    it('emits nothing when the version has the current content', () => {
      given(created, v2).when(restore(2)).then([]);
      given(created).when(restore(1)).then([]);
    });

    it('refuses an unknown version and an archived template', () => {
      for (const version of [0, 3, -1, 1.5])
        given(created, v2).when(restore(version)).thenRefuses('template.version.unknown', 'not_found', 'version');
      given(created, v2, archived).when(restore(1)).thenRefuses('template.archived', 'conflict');
    });

    it('counts every content change as a version, and only those', () => {
      const events: TemplateEvent[] = [created];
      const apply = (command: TemplateCommand) => events.push(...templateDecider.decide(command, stateAfter(events)));
      apply(update({ name: 'A' }));
      apply(addTags([tag('a')]));
      apply(removeTags([tag('a')]));
      apply(changeParent(PARENT));
      apply(statusCommand('active'));
      apply(restore(1));
      const state = stateAfter(events);
      expect(state.status !== 'absent' && state.version).toBe(6);
    });
  });

  describe('tags', () => {
    const tagged: TemplateEvent = { type: 'TemplateTagsAdded', data: { tags: [tag('Yoga', 'topic', 'hatha')], version: 2 } };

    it('adds new tags with a new version; tags already there are skipped', () => {
      given(created)
        .when(addTags([{ name: ' Yoga ', value: 'hatha', type: 'topic' }]))
        .then([tagged]);
      given(created, tagged)
        .when(addTags([tag('YOGA', 'topic', 'hatha'), tag('Calm', 'skill')]))
        .then([{ type: 'TemplateTagsAdded', data: { tags: [tag('Calm', 'skill')], version: 3 } }]);
      given(created, tagged)
        .when(addTags([tag('yoga', 'topic', 'hatha')]))
        .then([]);
    });

    it('refuses a tag that exists with another value, duplicates in the command, and more than 50 in all', () => {
      given(created, tagged)
        .when(addTags([tag('x'), tag('yoga', 'topic', 'vinyasa')]))
        .thenRefuses('template.tags.duplicate', 'conflict', 'tags.1.name');
      given(created)
        .when(addTags([tag('a'), tag('A')]))
        .thenRefuses('template.tags.duplicate', 'invalid', 'tags.1.name');
      const fortyNine = Array.from({ length: 49 }, (_, i) => tag(`t${i}`));
      given(created, tagged)
        .when(addTags([...fortyNine, tag('one more')]))
        .thenRefuses('template.tags.count', 'invalid', 'tags');
      expect(templateDecider.decide(addTags(fortyNine), stateAfter([created, tagged]))).toHaveLength(1);
    });

    it('removes tags by type and case-insensitive name; absent ones are ignored', () => {
      given(created, tagged)
        .when(
          removeTags([
            { name: 'YOGA', type: 'topic' },
            { name: 'nope', type: 'topic' },
          ]),
        )
        .then([{ type: 'TemplateTagsRemoved', data: { tags: [{ name: 'Yoga', type: 'topic' }], version: 3 } }]);
      given(created, tagged)
        .when(removeTags([{ name: 'Yoga', type: 'skill' }]))
        .then([]);
      given(created, tagged)
        .when(removeTags([{ name: '', type: 'skill' }]))
        .thenRefuses('template.tags.name', 'invalid', 'tags.0.name');
      const removed = templateDecider.decide(removeTags([{ name: 'yoga', type: 'topic' }]), stateAfter([created, tagged]));
      const state = stateAfter([created, tagged, ...removed]);
      expect(state.status !== 'absent' && state.content.tags).toEqual([]);
    });

    it('refuses to tag or untag an archived template', () => {
      given(created, archived)
        .when(addTags([tag('a')]))
        .thenRefuses('template.archived', 'conflict');
      given(created, tagged, { type: 'TemplateArchived', data: { from: 'draft' } })
        .when(removeTags([tag('Yoga')]))
        .thenRefuses('template.archived', 'conflict');
    });
  });

  describe('deletion (soft)', () => {
    const del: TemplateCommand = { type: 'DeleteTemplate', data: {} };
    const undel: TemplateCommand = { type: 'UndeleteTemplate', data: {} };

    it('deletes in any status, remembering the status for an undelete', () => {
      given(created)
        .when(del)
        .then([{ type: 'TemplateDeleted', data: { status: 'draft' } }]);
      given(created, activated)
        .when(del)
        .then([{ type: 'TemplateDeleted', data: { status: 'active' } }]);
      given(created, archived)
        .when(del)
        .then([{ type: 'TemplateDeleted', data: { status: 'archived' } }]);
    });

    it('makes the template read as missing to every command; its id cannot be created again', () => {
      const deleted: TemplateEvent = { type: 'TemplateDeleted', data: { status: 'draft' } };
      expect(stateAfter([created, deleted]).status).toBe('absent');
      given(created, deleted).when(del).thenRefuses('template.not_found', 'not_found');
      given(created, deleted)
        .when({ type: 'UpdateTemplate', data: { name: 'x' } })
        .thenRefuses('template.not_found', 'not_found');
      given(created, deleted).when({ type: 'ActivateTemplate', data: {} }).thenRefuses('template.not_found', 'not_found');
      given(created, deleted).when({ type: 'CreateTemplate', data: baseData }).thenRefuses('template.exists', 'conflict', 'templateId');
      refusal(() => assertTenantMayChange(stateAfter([created, deleted]), TENANT));
    });

    it('undeletes back to the status and content it had; undelete of a live template is a no-op', () => {
      const deleted: TemplateEvent = { type: 'TemplateDeleted', data: { status: 'active' } };
      const undeleted: TemplateEvent = { type: 'TemplateUndeleted', data: { status: 'active' } };
      given(created, activated, deleted).when(undel).then([undeleted]);
      expect(stateAfter([created, activated, deleted, undeleted])).toEqual(stateAfter([created, activated]));
      given(created).when(undel).then([]);
      given().when(undel).thenRefuses('template.not_found', 'not_found');
    });

    it('lets only the owner undelete; system templates are read-only', () => {
      const deleted = stateAfter([created, { type: 'TemplateDeleted', data: { status: 'draft' } }]);
      expect(() => assertTenantMayUndelete(deleted, TENANT)).not.toThrow();
      expect(refusal(() => assertTenantMayUndelete(deleted, 'other')).kind).toBe('not_found');
      expect(refusal(() => assertTenantMayUndelete(stateAfter([]), TENANT)).kind).toBe('not_found');
      const system = stateAfter([{ ...created, data: { ...created.data, isSystemTemplate: true } } as TemplateEvent]);
      expect(refusal(() => assertTenantMayChange(system, TENANT)).rule).toBe('template.system.read_only');
    });
  });

  describe('tenancy', () => {
    it('lets the owner change its own template', () => {
      expect(() => assertTenantMayChange(stateAfter([created]), TENANT)).not.toThrow();
    });

    it('answers not found for a missing template and for another tenant’s, alike', () => {
      expect(refusal(() => assertTenantMayChange(stateAfter([]), TENANT))).toMatchObject({ rule: 'template.not_found', kind: 'not_found' });
      const other = refusal(() => assertTenantMayChange(stateAfter([created]), 'globex'));
      const missing = refusal(() => assertTenantMayChange(stateAfter([]), 'globex'));
      expect([other.rule, other.kind, other.message, other.field]).toEqual([missing.rule, missing.kind, missing.message, missing.field]);
    });

    it('makes system templates read-only for everyone, the owner included', () => {
      const system = { ...created, data: { ...created.data, isSystemTemplate: true } } as TemplateEvent;
      for (const tenant of [TENANT, 'globex']) {
        expect(refusal(() => assertTenantMayChange(stateAfter([system]), tenant))).toMatchObject({
          rule: 'template.system.read_only',
          kind: 'forbidden',
        });
      }
    });
  });

  describe('named checks (the rules decide applies, for the command layer to run before a claim)', () => {
    it('refuses what decide refuses, and passes what it accepts', () => {
      expect(() => assertValidTemplateCreate(baseData)).not.toThrow();
      expect(refusal(() => assertValidTemplateCreate({ ...baseData, name: ' ' }))).toMatchObject({
        rule: 'template.name.length',
        field: 'name',
      });
      expect(refusal(() => assertValidTemplateCreate({ ...baseData, parentTemplateId: ID }))).toMatchObject({
        rule: 'template.parent.self',
      });

      expect(() => assertMayUpdateTemplate(stateAfter([created]), { name: 'B' })).not.toThrow();
      expect(refusal(() => assertMayUpdateTemplate(stateAfter([]), { name: 'B' }))).toMatchObject({
        rule: 'template.not_found',
        kind: 'not_found',
      });
      expect(refusal(() => assertMayUpdateTemplate(stateAfter([created, archived]), { name: 'B' }))).toMatchObject({
        rule: 'template.archived',
        kind: 'conflict',
      });
      expect(refusal(() => assertMayUpdateTemplate(stateAfter([created]), { defaultDuration: 0 }))).toMatchObject({
        field: 'defaultDuration',
      });

      expect(() => assertMayChangeTemplateStatus(stateAfter([created, archived]), 'draft')).not.toThrow();
      expect(() => assertMayChangeTemplateStatus(stateAfter([created]), 'draft')).not.toThrow(); // a no-op
      expect(refusal(() => assertMayChangeTemplateStatus(stateAfter([created]), 'deprecated'))).toMatchObject({
        rule: 'template.status.transition',
      });
      expect(refusal(() => assertMayChangeTemplateStatus(stateAfter([]), 'draft'))).toMatchObject({ rule: 'template.not_found' });
    });
  });

  it('skips favorites and usages written into its stream before they had streams of their own', () => {
    const legacy = [
      { type: 'TemplateFavorited', data: { userId: 'u' } },
      { type: 'TemplateUsageRecorded', data: { usageType: 'create_course', outcome: 'success' } },
    ] as unknown as TemplateEvent[];
    expect(stateAfter([created, ...legacy, activated])).toEqual(stateAfter([created, activated]));
  });

  it('folds events into the state', () => {
    const state = stateAfter([created, activated, updated({ name: 'B' }, 2)]);
    expect(state).toEqual({
      status: 'active',
      templateId: ID,
      ownerTenantId: TENANT,
      isSystemTemplate: false,
      parentTemplateId: null,
      content: { ...content, name: 'B' },
      version: 2,
      versions: { 1: content, 2: { ...content, name: 'B' } },
    });
    expect(stateAfter([])).toEqual({ status: 'absent' });
  });
});
