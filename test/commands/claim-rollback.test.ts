// A multi-stream command whose later step fails leaves nothing it claimed behind (#5): every command that
// claims a name and then appends to its aggregate is run against a store whose aggregate append fails;
// afterwards the aggregate is unchanged and the name is free at once for anyone (no grace period).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CATEGORY_NAME_SCOPE,
  createCategory,
  renameCategory,
  restoreCategory,
  archiveCategory,
} from '../../src/commands/categories/index.js';
import { categoryStreamId } from '../../src/domain/categories/index.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import { RESERVATION_CLAIMED, reservationStreamId, reserve } from '../../src/commands/reservations.js';
import {
  TEMPLATE_NAME_SCOPE,
  changeTemplateStatus,
  createTemplate,
  restoreTemplateVersion,
  updateTemplate,
  type TemplateCommandDeps,
} from '../../src/commands/templates/index.js';
import { templateStreamId } from '../../src/domain/templates/index.js';
import { StreamNotFoundError, WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '../../src/ports/event-store.js';
import { postgresService } from '../support/services.js';
import { contextFor, manualClock, openPgliteStore, openPostgresStore, type OpenStore } from './fixtures/store.js';

/** The store, except that appends to streams starting with `prefix` fail while `armed` is set. */
function failingAggregateAppends(store: EventStore, prefix: string) {
  const switchable = { armed: false, failures: 0 };
  const wrapped: EventStore = {
    ...store,
    async append(streamId, events, options) {
      if (switchable.armed && streamId.startsWith(prefix)) {
        switchable.failures++;
        throw new Error(`injected failure appending to ${streamId}`);
      }
      return store.append(streamId, events, options);
    },
  };
  return { store: wrapped, switchable };
}

function rollbackSuite(label: string, open: () => Promise<OpenStore>) {
  describe(label, () => {
    let opened: OpenStore;
    const clock = manualClock();
    let tenantId: string;
    const ctx = (overrides: Partial<CommandContext> = {}) => contextFor({ tenantId, ...overrides });

    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => opened?.close());

    const eventsOf = async (streamId: string): Promise<RecordedEvent[]> =>
      opened.store.readStream(streamId).catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      });

    /** Free: its last event is not a claim, so another owner claims it now, at the same clock time. */
    async function expectFree(scope: string, name: string) {
      const [last] = (await eventsOf(reservationStreamId(scope, tenantId, name))).slice(-1);
      expect(last?.type, `${name} is still claimed`).not.toBe(RESERVATION_CLAIMED);
      await reserve(
        { eventStore: opened.store, clock: clock.now },
        { scope, tenantId, value: name, ownerStreamId: `someone-${randomUUID()}`, context: ctx() },
      );
    }

    describe('templates', () => {
      let deps: TemplateCommandDeps;
      let failing: ReturnType<typeof failingAggregateAppends>['switchable'];
      beforeAll(() => {
        const wrapped = failingAggregateAppends(opened.store, 'template-');
        failing = wrapped.switchable;
        deps = {
          eventStore: wrapped.store,
          clock: clock.now,
          limits: { maxTemplatesPerTenant: 1000 },
          countTemplates: async () => 0,
          subtreeDepth: async () => 1,
          activeChildren: async () => [],
        };
      });
      const make = async (name: string) => {
        const templateId = randomUUID();
        await createTemplate(deps, ctx(), { templateId, name, templateType: 'base' } as Parameters<typeof createTemplate>[2]);
        return templateId;
      };
      /** Runs `command` with the aggregate append failing; checks it failed and the stream is unchanged. */
      async function failsCleanly(templateId: string, command: () => Promise<unknown>) {
        const before = await eventsOf(templateStreamId(templateId));
        failing.armed = true;
        try {
          await expect(command()).rejects.toThrow(/injected failure/);
        } finally {
          failing.armed = false;
        }
        expect(await eventsOf(templateStreamId(templateId))).toEqual(before);
      }

      it('create: the name claimed before the failed template append is free again', async () => {
        tenantId = randomUUID();
        const templateId = randomUUID();
        await failsCleanly(templateId, () =>
          createTemplate(deps, ctx(), { templateId, name: 'Glassblowing', templateType: 'base' } as Parameters<typeof createTemplate>[2]),
        );
        await expectFree(TEMPLATE_NAME_SCOPE, 'Glassblowing');
      });

      it('rename, unarchive and restore of an older name: each new name is free again, the old one still held', async () => {
        tenantId = randomUUID();
        const templateId = await make('Ceramics');
        await failsCleanly(templateId, () => updateTemplate(deps, ctx(), { templateId, changes: { name: 'Porcelain' } }));
        await expectFree(TEMPLATE_NAME_SCOPE, 'Porcelain');
        await expect(
          reserve(deps, { scope: TEMPLATE_NAME_SCOPE, tenantId, value: 'Ceramics', ownerStreamId: 'someone-else', context: ctx() }),
        ).rejects.toMatchObject({ rule: 'template.name.unique' });

        await updateTemplate(deps, ctx(), { templateId, changes: { name: 'Stoneware' } }); // version 2: "Ceramics" is given back
        await failsCleanly(templateId, () => restoreTemplateVersion(deps, ctx(), { templateId, version: 1 }));
        await expectFree(TEMPLATE_NAME_SCOPE, 'Ceramics');

        const archivedId = await make('Mosaic');
        await changeTemplateStatus(deps, ctx(), { templateId: archivedId, action: 'archive' });
        await failsCleanly(archivedId, () => changeTemplateStatus(deps, ctx(), { templateId: archivedId, action: 'unarchive' }));
        await expectFree(TEMPLATE_NAME_SCOPE, 'Mosaic');
      });
    });

    describe('refused before any claim', () => {
      it('a stale If-Match on a rename, restore or unarchive writes no reservation event at all', async () => {
        tenantId = randomUUID();
        const deps: TemplateCommandDeps = {
          eventStore: opened.store,
          clock: clock.now,
          limits: { maxTemplatesPerTenant: 1000 },
          countTemplates: async () => 0,
          subtreeDepth: async () => 1,
          activeChildren: async () => [],
        };
        const templateId = randomUUID();
        await createTemplate(deps, ctx(), { templateId, name: 'Weaving', templateType: 'base' } as Parameters<typeof createTemplate>[2]);
        await updateTemplate(deps, ctx(), { templateId, changes: { name: 'Knitting' } }); // revision 1
        const stale = { templateId, expectedRevision: 0n };
        await expect(updateTemplate(deps, ctx(), { ...stale, changes: { name: 'Felting' } })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await expect(restoreTemplateVersion(deps, ctx(), { ...stale, version: 1 })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await changeTemplateStatus(deps, ctx(), { templateId, action: 'archive' }); // revision 2, gives "Knitting" back
        await expect(changeTemplateStatus(deps, ctx(), { ...stale, action: 'unarchive' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        for (const name of ['Felting', 'Weaving'])
          expect(await eventsOf(reservationStreamId(TEMPLATE_NAME_SCOPE, tenantId, name)), name).toHaveLength(name === 'Weaving' ? 2 : 0);
        expect((await eventsOf(reservationStreamId(TEMPLATE_NAME_SCOPE, tenantId, 'Knitting'))).map((event) => event.type)).toEqual([
          RESERVATION_CLAIMED,
          'ReservationReleased',
        ]);

        const categories = { eventStore: opened.store, clock: clock.now };
        const categoryId = randomUUID();
        await createCategory(categories, ctx(), { categoryId, name: 'Dyeing', description: '' });
        await expect(renameCategory(categories, ctx(), { categoryId, name: 'Spinning', expectedRevision: 5n })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await archiveCategory(categories, ctx(), { categoryId });
        await expect(restoreCategory(categories, ctx(), { categoryId, expectedRevision: 0n })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        expect(await eventsOf(reservationStreamId(CATEGORY_NAME_SCOPE, tenantId, 'Spinning'))).toEqual([]);
        expect((await eventsOf(reservationStreamId(CATEGORY_NAME_SCOPE, tenantId, 'Dyeing'))).map((event) => event.type)).toEqual([
          RESERVATION_CLAIMED,
          'ReservationReleased',
        ]);
      });
    });

    describe('categories', () => {
      let wrapped: ReturnType<typeof failingAggregateAppends>;
      beforeAll(() => {
        wrapped = failingAggregateAppends(opened.store, 'category-');
      });
      const deps = () => ({ eventStore: wrapped.store, clock: clock.now });
      async function failsCleanly(categoryId: string, command: () => Promise<unknown>) {
        const before = await eventsOf(categoryStreamId(tenantId, categoryId));
        wrapped.switchable.armed = true;
        try {
          await expect(command()).rejects.toThrow(/injected failure/);
        } finally {
          wrapped.switchable.armed = false;
        }
        expect(await eventsOf(categoryStreamId(tenantId, categoryId))).toEqual(before);
      }

      it('create, rename and restore: the claimed name is free again', async () => {
        tenantId = randomUUID();
        const categoryId = randomUUID();
        await failsCleanly(categoryId, () => createCategory(deps(), ctx(), { categoryId, name: 'Carpentry', description: '' }));
        await expectFree(CATEGORY_NAME_SCOPE, 'Carpentry');

        await createCategory(deps(), ctx(), { categoryId, name: 'Joinery', description: '' });
        await failsCleanly(categoryId, () => renameCategory(deps(), ctx(), { categoryId, name: 'Cabinetry' }));
        await expectFree(CATEGORY_NAME_SCOPE, 'Cabinetry');

        await archiveCategory(deps(), ctx(), { categoryId });
        await failsCleanly(categoryId, () => restoreCategory(deps(), ctx(), { categoryId }));
        await expectFree(CATEGORY_NAME_SCOPE, 'Joinery');
      });
    });
  });
}

rollbackSuite('claims given back after a failed aggregate append (PGlite)', openPgliteStore);

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] claims given back on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) rollbackSuite('claims given back after a failed aggregate append (PostgreSQL)', () => openPostgresStore(postgres.url!));
