// Template commands on PGlite, without HTTP: the aggregate through the handler, plus the rules that read
// other streams (names through reservation streams, parents, categories, tenancy), the favorite and usage
// streams beside the template's, and retries answered with their first result.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { archiveCategory, createCategory } from '../../src/commands/categories/index.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import { RESERVATION_CLAIMED, reservationStreamId } from '../../src/commands/reservations.js';
import {
  TEMPLATE_NAME_SCOPE,
  changeTemplateParent,
  changeTemplateStatus,
  createTemplate,
  favoriteTemplate,
  recordTemplateUsage,
  restoreTemplateVersion,
  updateTemplate,
  type TemplateCommandDeps,
} from '../../src/commands/templates/index.js';
import { StreamNotFoundError, WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '../../src/ports/event-store.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';
import {
  MAX_INHERITANCE_DEPTH,
  templateStreamId,
  templateUsageStreamId,
  type CreateTemplateData,
} from '../../src/domain/templates/index.js';
import { contextFor, manualClock, openPgliteStore, type OpenStore } from './fixtures/store.js';

type CreateInput = Omit<CreateTemplateData, 'ownerTenantId' | 'templateId'>;

describe('template commands on PGlite', () => {
  let opened: OpenStore;
  let store: EventStore;
  const clock = manualClock();
  let templateCount = 0;
  const limits = { maxTemplatesPerTenant: 1000 };
  const deps = (): TemplateCommandDeps => ({
    eventStore: store,
    clock: clock.now,
    limits,
    countTemplates: async () => templateCount,
    subtreeDepth: async () => 1,
    activeChildren: async () => [],
  });
  let tenantId: string; // fresh per test: names of one test never meet another's
  const ctx = (overrides: Partial<CommandContext> = {}) => contextFor({ tenantId, ...overrides });

  beforeAll(async () => {
    opened = await openPgliteStore();
    store = opened.store;
  });
  afterAll(async () => opened?.close());
  beforeEach(() => {
    tenantId = randomUUID();
    templateCount = 0;
  });

  const eventsOf = async (streamId: string): Promise<RecordedEvent[]> =>
    store.readStream(streamId).catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });

  /** Who holds a template name right now, per its reservation stream. */
  async function holderOf(name: string, tenant = tenantId): Promise<string | undefined> {
    const [last] = (await eventsOf(reservationStreamId(TEMPLATE_NAME_SCOPE, tenant, name))).slice(-1);
    return last?.type === RESERVATION_CLAIMED ? String(last.data.ownerStreamId) : undefined;
  }

  const make = async (name: string, extra: Partial<CreateInput> = {}, context = ctx()) => {
    const templateId = randomUUID();
    await createTemplate(deps(), context, { templateId, name, templateType: 'base', ...extra });
    return templateId;
  };
  const activate = (templateId: string, context = ctx()) => changeTemplateStatus(deps(), context, { templateId, action: 'activate' });
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  describe('create', () => {
    it('creates a draft of the caller’s tenant in the template’s stream, holding its name', async () => {
      const templateId = randomUUID();
      const result = await createTemplate(deps(), ctx(), {
        templateId: templateId.toUpperCase(),
        name: '  Yoga basics ',
        templateType: 'base',
      });
      expect(result).toMatchObject({ streamId: templateStreamId(templateId), revision: 0n, idempotent: false });
      expect(result.state).toMatchObject({
        status: 'draft',
        templateId,
        ownerTenantId: tenantId,
        version: 1,
        content: { name: 'Yoga basics' },
      });
      expect(await holderOf('yoga basics')).toBe(templateStreamId(templateId));
    });

    it('refuses bad input and a tenant at its limit before claiming anything', async () => {
      await expect(make('x'.repeat(256))).rejects.toMatchObject({ rule: 'template.name.length', field: 'name' });
      expect(await holderOf('x'.repeat(256))).toBeUndefined();
      templateCount = limits.maxTemplatesPerTenant;
      await expect(make('Full')).rejects.toMatchObject({ rule: 'template.tenant.limit', kind: 'conflict' });
      expect(await holderOf('full')).toBeUndefined();
    });

    it('refuses a category that is missing, another tenant’s or archived', async () => {
      const mine = randomUUID();
      await createCategory(deps(), ctx(), { categoryId: mine, name: 'Sport', description: '' });
      await make('In a category', { categoryId: mine });
      await expect(make('Nowhere', { categoryId: randomUUID() })).rejects.toMatchObject({
        rule: 'template.category.not_found',
        kind: 'unprocessable',
      });
      await expect(make('Theirs', { categoryId: mine }, contextFor({ tenantId: randomUUID() }))).rejects.toMatchObject({
        rule: 'template.category.not_found',
      });
      await archiveCategory(deps(), ctx(), { categoryId: mine });
      await expect(make('Archived', { categoryId: mine })).rejects.toMatchObject({
        rule: 'template.category.archived',
        kind: 'unprocessable',
      });
      expect(await holderOf('archived')).toBeUndefined();
    });
  });

  describe('names', () => {
    it('keeps names unique per tenant, ignoring case and blanks', async () => {
      const first = await make('Pilates');
      const duplicate = await refusal(make('  PILATES '));
      expect(duplicate).toBeInstanceOf(RuleViolation);
      expect(duplicate).toMatchObject({ rule: 'template.name.unique', kind: 'conflict', field: 'name' });
      expect(await holderOf('pilates')).toBe(templateStreamId(first));
      await make('Pilates', {}, contextFor({ tenantId: randomUUID() })); // another tenant's name space
    });

    it('gives the name back when the create clashes with an existing template', async () => {
      const templateId = await make('First');
      await expect(createTemplate(deps(), ctx(), { templateId, name: 'Second', templateType: 'base' })).rejects.toMatchObject({
        rule: 'template.exists',
      });
      expect(await holderOf('second')).toBeUndefined();
      expect(await holderOf('first')).toBe(templateStreamId(templateId));
    });

    it('moves the claim on rename, and claims nothing for a rename refused by If-Match', async () => {
      const templateId = await make('Old name');
      await expect(
        updateTemplate(deps(), ctx(), { templateId, expectedRevision: 5n, changes: { name: 'New name' } }),
      ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      expect(await holderOf('new name')).toBeUndefined();

      const renamed = await updateTemplate(deps(), ctx(), { templateId, expectedRevision: 0n, changes: { name: 'New name' } });
      expect(renamed).toMatchObject({ revision: 1n, state: { version: 2, content: { name: 'New name' } } });
      expect(await holderOf('new name')).toBe(templateStreamId(templateId));
      expect(await holderOf('old name')).toBeUndefined();
    });

    it('refuses a rename to a taken name and leaves both templates as they were', async () => {
      const a = await make('Alpha');
      const b = await make('Beta');
      await expect(updateTemplate(deps(), ctx(), { templateId: b, changes: { name: 'alpha' } })).rejects.toMatchObject({
        rule: 'template.name.unique',
      });
      expect(await eventsOf(templateStreamId(b))).toHaveLength(1);
      expect([await holderOf('alpha'), await holderOf('beta')]).toEqual([templateStreamId(a), templateStreamId(b)]);
    });

    it('frees the name on archive, takes it again on unarchive, and refuses unarchiving onto a taken name', async () => {
      const old = await make('Seasonal');
      await changeTemplateStatus(deps(), ctx(), { templateId: old, action: 'archive' });
      expect(await holderOf('seasonal')).toBeUndefined();
      await expect(updateTemplate(deps(), ctx(), { templateId: old, changes: { description: 'x' } })).rejects.toMatchObject({
        rule: 'template.archived',
        kind: 'conflict',
      });

      const successor = await make('Seasonal');
      await expect(changeTemplateStatus(deps(), ctx(), { templateId: old, action: 'unarchive' })).rejects.toMatchObject({
        rule: 'template.name.unique',
      });
      await changeTemplateStatus(deps(), ctx(), { templateId: successor, action: 'archive' });
      const back = await changeTemplateStatus(deps(), ctx(), { templateId: old, action: 'unarchive' });
      expect(back.state.status).toBe('draft');
      expect(await holderOf('seasonal')).toBe(templateStreamId(old));
    });

    it('refuses a status change the lifecycle does not allow, before claiming', async () => {
      const templateId = await make('Fresh');
      await expect(changeTemplateStatus(deps(), ctx(), { templateId, action: 'deprecate' })).rejects.toMatchObject({
        rule: 'template.status.transition',
        kind: 'conflict',
      });
      await expect(changeTemplateStatus(deps(), ctx(), { templateId, action: 'unarchive' })).resolves.toMatchObject({ events: [] }); // already a draft
    });

    it('restores a version under its old name: the old name is taken again and the current one freed', async () => {
      const templateId = await make('Version one');
      await updateTemplate(deps(), ctx(), { templateId, changes: { name: 'Version two' } });
      const restored = await restoreTemplateVersion(deps(), ctx(), { templateId, version: 1 });
      expect(restored.state).toMatchObject({ version: 3, content: { name: 'Version one' } });
      expect(await holderOf('version one')).toBe(templateStreamId(templateId));
      expect(await holderOf('version two')).toBeUndefined();
    });
  });

  describe('parents', () => {
    it('links a visible parent and refuses a missing one or another tenant’s private one alike', async () => {
      const parent = await make('Parent');
      const child = await make('Child', { parentTemplateId: parent });
      expect((await eventsOf(templateStreamId(child)))[0]?.data.parentTemplateId).toBe(parent);

      const strangers = contextFor({ tenantId: randomUUID() });
      const theirs = await make('Private', {}, strangers);
      const missing = await refusal(make('Orphan', { parentTemplateId: randomUUID() }));
      const hidden = await refusal(make('Hidden', { parentTemplateId: theirs }));
      expect(missing).toMatchObject({ rule: 'template.parent.not_found', kind: 'not_found', field: 'parentTemplateId' });
      expect(hidden).toMatchObject({ rule: 'template.parent.not_found', kind: 'not_found', field: 'parentTemplateId' });

      const published = await make('Public', { isPublic: true }, strangers);
      await changeTemplateParent(deps(), ctx(), { templateId: child, parentTemplateId: published });
    });

    it('refuses a cycle', async () => {
      const root = await make('Root');
      const child = await make('Child', { parentTemplateId: root });
      const grandchild = await make('Grandchild', { parentTemplateId: child });
      await expect(changeTemplateParent(deps(), ctx(), { templateId: root, parentTemplateId: grandchild })).rejects.toMatchObject({
        rule: 'template.parent.cycle',
        kind: 'conflict',
      });
      await expect(changeTemplateParent(deps(), ctx(), { templateId: root, parentTemplateId: root })).rejects.toMatchObject({
        rule: 'template.parent.self',
      });
    });

    it('refuses a chain deeper than the limit', async () => {
      let parent: string | undefined;
      for (let level = 1; level <= MAX_INHERITANCE_DEPTH; level++)
        parent = await make(`Level ${level}`, parent ? { parentTemplateId: parent } : {});
      await expect(make('Too deep', { parentTemplateId: parent! })).rejects.toMatchObject({
        rule: 'template.parent.depth',
        kind: 'conflict',
      });
      const loose = await make('Loose');
      await expect(changeTemplateParent(deps(), ctx(), { templateId: loose, parentTemplateId: parent! })).rejects.toMatchObject({
        rule: 'template.parent.depth',
      });
    });
  });

  describe('tenancy', () => {
    it('answers another tenant’s private template as not found, for changes and favorites alike', async () => {
      const theirs = await make('Theirs', {}, contextFor({ tenantId: randomUUID() }));
      const missing = randomUUID();
      for (const templateId of [theirs, missing]) {
        await expect(updateTemplate(deps(), ctx(), { templateId, changes: { description: 'x' } })).rejects.toMatchObject({
          kind: 'not_found',
        });
        await expect(favoriteTemplate(deps(), ctx(), { templateId, favorite: true })).rejects.toMatchObject({
          rule: 'template.not_found',
          kind: 'not_found',
        });
      }
    });

    it('lets other tenants favorite and use a public template but never change it', async () => {
      const templateId = await make('Shared', { isPublic: true });
      await activate(templateId);
      const other = contextFor({ tenantId: randomUUID() });
      await expect(updateTemplate(deps(), other, { templateId, changes: { description: 'mine now' } })).rejects.toMatchObject({
        rule: 'template.not_found',
        kind: 'not_found',
      });
      await favoriteTemplate(deps(), other, { templateId, favorite: true });
      await recordTemplateUsage(deps(), other, {
        templateId,
        usage: { usageType: 'create_course', customizations: {}, outcome: 'success' },
      });
    });

    it('keeps system templates read-only, for their owner too', async () => {
      const templateId = await make('System', { isSystemTemplate: true });
      await expect(updateTemplate(deps(), ctx(), { templateId, changes: { description: 'x' } })).rejects.toMatchObject({
        rule: 'template.system.read_only',
        kind: 'forbidden',
      });
      await expect(
        changeTemplateStatus(deps(), contextFor({ tenantId: randomUUID() }), { templateId, action: 'activate' }),
      ).rejects.toMatchObject({ rule: 'template.system.read_only' });
      await favoriteTemplate(deps(), contextFor({ tenantId: randomUUID() }), { templateId, favorite: true }); // readable by all
    });
  });

  describe('favorites and usages', () => {
    it('favorites once per user, never moving the template’s revision; a retry is answered as handled', async () => {
      const templateId = await make('Liked');
      const context = ctx();
      const first = await favoriteTemplate(deps(), context, { templateId, favorite: true });
      expect(first).toMatchObject({ revision: 0n, version: 1, idempotent: false });
      expect(await favoriteTemplate(deps(), context, { templateId, favorite: true })).toMatchObject({
        idempotent: true,
        position: first.position,
      });
      const again = await favoriteTemplate(deps(), ctx(), { templateId, favorite: true });
      expect(again).toMatchObject({ idempotent: false, position: first.position }); // already a favorite: nothing new
      await favoriteTemplate(deps(), ctx(), { templateId, favorite: false });
      await favoriteTemplate(deps(), ctx(), { templateId, favorite: false }); // not a favorite: nothing new
      expect(await eventsOf(templateStreamId(templateId))).toHaveLength(1);
    });

    it('checks If-Match and the template’s status before a favorite', async () => {
      const templateId = await make('Stale');
      await expect(favoriteTemplate(deps(), ctx(), { templateId, favorite: true, expectedRevision: 3n })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await favoriteTemplate(deps(), ctx(), { templateId, favorite: true, expectedRevision: 0n });
      await changeTemplateStatus(deps(), ctx(), { templateId, action: 'archive' });
      await expect(favoriteTemplate(deps(), ctx({ userId: 'someone-else' }), { templateId, favorite: true })).rejects.toMatchObject({
        rule: 'template.archived',
        kind: 'conflict',
      });
      await favoriteTemplate(deps(), ctx(), { templateId, favorite: false }); // unfavoriting an archived one is fine
    });

    it('records usages of active templates in the usage stream, once per command', async () => {
      const templateId = await make('Used');
      const usage = { usageType: 'create_course' as const, customizations: { room: 'B' }, outcome: 'success' as const };
      await expect(recordTemplateUsage(deps(), ctx(), { templateId, usage })).rejects.toMatchObject({
        rule: 'template.usage.status',
        kind: 'conflict',
      });
      await activate(templateId);
      const context = ctx();
      const first = await recordTemplateUsage(deps(), context, { templateId, usage });
      expect(first).toMatchObject({ revision: 1n, version: 1, idempotent: false });
      expect(await recordTemplateUsage(deps(), context, { templateId, usage })).toMatchObject({ idempotent: true });
      await expect(
        recordTemplateUsage(deps(), ctx(), { templateId, usage: { ...usage, usageType: 'clone' as never } }),
      ).rejects.toMatchObject({ rule: 'template.usage.type' });
      const recorded = await eventsOf(templateUsageStreamId(templateId));
      expect(recorded.map((event) => [event.type, event.data])).toEqual([
        ['TemplateUsageRecorded', { ...usage, errorMessage: null, usedBy: context.userId, courseId: null, templateVersion: 1, templateId }],
      ]);
    });
  });

  describe('retries', () => {
    it('answers a retried create with its first result, even after its category was archived', async () => {
      const categoryId = randomUUID();
      await createCategory(deps(), ctx(), { categoryId, name: 'Dance', description: '' });
      const context = ctx();
      const templateId = randomUUID();
      const input = { templateId, name: 'Salsa', templateType: 'base' as const, categoryId };
      const first = await createTemplate(deps(), context, input);
      await archiveCategory(deps(), ctx(), { categoryId });
      const retried = await createTemplate(deps(), context, input);
      expect(retried).toMatchObject({ idempotent: true, revision: first.revision, events: first.events });
      expect(await eventsOf(templateStreamId(templateId))).toHaveLength(1);
    });

    it('answers a retried rename with its first result, without re-checking the name or giving the new one back', async () => {
      const templateId = await make('Before');
      const context = ctx();
      const first = await updateTemplate(deps(), context, { templateId, expectedRevision: 0n, changes: { name: 'After' } });
      await updateTemplate(deps(), ctx(), { templateId, changes: { description: 'later change' } });
      const retried = await updateTemplate(deps(), context, { templateId, expectedRevision: 0n, changes: { name: 'After' } });
      expect(retried).toMatchObject({ idempotent: true, revision: first.revision, events: first.events });
      expect(await holderOf('after')).toBe(templateStreamId(templateId));
      expect(await holderOf('before')).toBeUndefined();
    });

    it('answers retried parent changes, unarchives and restores with their first results', async () => {
      const parent = await make('Parent');
      const templateId = await make('Child');
      const reparent = ctx();
      const linked = await changeTemplateParent(deps(), reparent, { templateId, parentTemplateId: parent });
      await changeTemplateStatus(deps(), ctx(), { templateId: parent, action: 'archive' });
      expect(await changeTemplateParent(deps(), reparent, { templateId, parentTemplateId: parent })).toMatchObject({
        idempotent: true,
        events: linked.events,
      });

      await changeTemplateStatus(deps(), ctx(), { templateId, action: 'archive' });
      const unarchive = ctx();
      const back = await changeTemplateStatus(deps(), unarchive, { templateId, action: 'unarchive' });
      await activate(templateId);
      expect(await changeTemplateStatus(deps(), unarchive, { templateId, action: 'unarchive' })).toMatchObject({
        idempotent: true,
        events: back.events,
      });

      await updateTemplate(deps(), ctx(), { templateId, changes: { name: 'Renamed' } });
      const restore = ctx();
      const restored = await restoreTemplateVersion(deps(), restore, { templateId, version: 1 });
      await updateTemplate(deps(), ctx(), { templateId, changes: { name: 'Renamed again' } });
      expect(await restoreTemplateVersion(deps(), restore, { templateId, version: 1, expectedRevision: 0n })).toMatchObject({
        idempotent: true,
        events: restored.events,
      });
    });
  });
});
