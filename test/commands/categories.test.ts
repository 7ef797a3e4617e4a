// Category commands on PGlite: the aggregate through the handler, and names unique per tenant among active
// categories (case-insensitively) through reservation streams, including failures between the two.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CATEGORY_NAME_SCOPE,
  archiveCategory,
  createCategory,
  describeCategory,
  renameCategory,
  restoreCategory,
} from '../../src/commands/categories/index.js';
import { categoryDecider, categoryStreamId } from '../../src/domain/categories/index.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../../src/commands/handle-command.js';
import {
  ORPHANED_CLAIM_GRACE_MS,
  RESERVATION_CLAIMED,
  RESERVATION_RELEASED,
  reservationStreamId,
  reserve,
} from '../../src/commands/reservations.js';
import { StreamNotFoundError, WrongExpectedRevisionError, type EventStore } from '../../src/ports/event-store.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';
import { contextFor, manualClock, openPgliteStore, type OpenStore } from './fixtures/store.js';

describe('category commands on PGlite', () => {
  let opened: OpenStore;
  let store: EventStore;
  const clock = manualClock();
  const deps = (): CommandDeps => ({ eventStore: store, clock: clock.now });
  let tenantId: string; // fresh per test: names of one test never meet another's
  const ctx = (overrides: Partial<CommandContext> = {}) => contextFor({ tenantId, ...overrides });

  /** Who holds a name right now, per its reservation stream. */
  async function holderOf(name: string, tenant = tenantId): Promise<string | undefined> {
    try {
      const [last] = await store.readStream(reservationStreamId(CATEGORY_NAME_SCOPE, tenant, name), {
        direction: 'backwards',
        maxCount: 1,
      });
      return last?.type === RESERVATION_CLAIMED ? String(last.data.ownerStreamId) : undefined;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
  }

  const create = (name: string, categoryId: string = randomUUID(), context = ctx()) =>
    createCategory(deps(), context, { categoryId, name, description: '' }).then(() => categoryId);
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  beforeAll(async () => {
    opened = await openPgliteStore();
    store = opened.store;
  });
  afterAll(async () => opened?.close());

  it('creates a category in its own stream, holding its name', async () => {
    tenantId = randomUUID();
    const categoryId = randomUUID();
    const result = await createCategory(deps(), ctx(), { categoryId, name: '  Maths ', description: 'Numbers' });
    expect(result).toMatchObject({ streamId: categoryStreamId(tenantId, categoryId), revision: 0n, idempotent: false });
    expect(result.state).toEqual({ status: 'active', categoryId, name: 'Maths', description: 'Numbers' });
    expect(await holderOf('maths')).toBe(categoryStreamId(tenantId, categoryId));
  });

  it('keeps names unique per tenant, ignoring case and blanks, and tells which field', async () => {
    tenantId = randomUUID();
    const first = await create('Data Science');
    const duplicate = await refusal(create('  data   SCIENCE'));
    expect(duplicate).toBeInstanceOf(RuleViolation);
    expect(duplicate).toMatchObject({ rule: 'category.name.unique', kind: 'conflict', field: 'name' });
    expect(await holderOf('data science')).toBe(categoryStreamId(tenantId, first));

    const otherTenant = randomUUID();
    await createCategory(deps(), contextFor({ tenantId: otherTenant }), {
      categoryId: randomUUID(),
      name: 'Data Science',
      description: '',
    });
  });

  it('lets exactly one of several concurrent creates with the same name win', async () => {
    tenantId = randomUUID();
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => create(i % 2 ? 'Physics' : 'PHYSICS')));
    const winners = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(winners).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ rule: 'category.name.unique' });
    expect(await holderOf('physics')).toBe(categoryStreamId(tenantId, winners[0]!));
  });

  it('claims nothing for input the aggregate refuses, and gives the name back when the append is refused', async () => {
    tenantId = randomUUID();
    await expect(create('   ')).rejects.toMatchObject({ rule: 'category.name.length', field: 'name' });
    await expect(create('Valid', 'not-a-uuid')).rejects.toMatchObject({ rule: 'category.id.format' });
    expect(await holderOf('Valid')).toBeUndefined();

    const existing = await create('Chemistry');
    await expect(create('Biology', existing)).rejects.toMatchObject({ rule: 'category.exists', kind: 'conflict' });
    expect(await holderOf('Biology')).toBeUndefined();
    expect(await holderOf('Chemistry')).toBe(categoryStreamId(tenantId, existing));
  });

  it('answers a retried create with the first result and no new claim', async () => {
    tenantId = randomUUID();
    const categoryId = randomUUID();
    const context = ctx();
    const first = await createCategory(deps(), context, { categoryId, name: 'History', description: '' });
    const retried = await createCategory(deps(), context, { categoryId, name: 'History', description: '' });
    expect(retried).toMatchObject({ revision: first.revision, position: first.position, idempotent: true });
    expect(await store.readStream(reservationStreamId(CATEGORY_NAME_SCOPE, tenantId, 'History'))).toHaveLength(1);
  });

  it('addresses one category whatever the case of its id', async () => {
    tenantId = randomUUID();
    const categoryId = randomUUID();
    await create('Art', categoryId.toUpperCase());
    const renamed = await renameCategory(deps(), ctx(), { categoryId, name: 'Fine Art' });
    expect(renamed.streamId).toBe(categoryStreamId(tenantId, categoryId));
    expect(renamed.state).toMatchObject({ categoryId, name: 'Fine Art' });
  });

  it('moves the claim on rename: the new name is taken, the old one freed', async () => {
    tenantId = randomUUID();
    const a = await create('Music');
    const b = await create('Drama');
    await expect(renameCategory(deps(), ctx(), { categoryId: a, name: 'DRAMA' })).rejects.toMatchObject({ rule: 'category.name.unique' });
    expect(await holderOf('Music')).toBe(categoryStreamId(tenantId, a));

    const result = await renameCategory(deps(), ctx(), { categoryId: a, name: 'Sound' });
    expect(result.state).toMatchObject({ name: 'Sound' });
    expect(await holderOf('Sound')).toBe(categoryStreamId(tenantId, a));
    expect(await holderOf('Music')).toBeUndefined();
    await create('Music'); // free for others now

    // A change of case keeps the claim it already has.
    await renameCategory(deps(), ctx(), { categoryId: b, name: 'drama' });
    expect(await holderOf('Drama')).toBe(categoryStreamId(tenantId, b));
  });

  it('gives the new name back when a rename fails on a stale expected revision', async () => {
    tenantId = randomUUID();
    const id = await create('Geography');
    await describeCategory(deps(), ctx(), { categoryId: id, description: 'Maps' });
    const stale = renameCategory(deps(), ctx(), { categoryId: id, name: 'Earth Sciences', expectedRevision: 0n });
    await expect(stale).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(await holderOf('Earth Sciences')).toBeUndefined();
    expect(await holderOf('Geography')).toBe(categoryStreamId(tenantId, id));
    const fresh = await renameCategory(deps(), ctx(), { categoryId: id, name: 'Earth Sciences', expectedRevision: 1n });
    expect(fresh.revision).toBe(2n);
  });

  it('frees the name on archive and claims it again on restore, if still free', async () => {
    tenantId = randomUUID();
    const old = await create('Latin');
    await archiveCategory(deps(), ctx(), { categoryId: old });
    expect(await holderOf('Latin')).toBeUndefined();
    await expect(describeCategory(deps(), ctx(), { categoryId: old, description: 'x' })).rejects.toMatchObject({
      rule: 'category.archived',
      kind: 'conflict',
    });

    const successor = await create('latin');
    await expect(restoreCategory(deps(), ctx(), { categoryId: old })).rejects.toMatchObject({
      rule: 'category.name.unique',
      field: 'name',
    });
    expect(await holderOf('Latin')).toBe(categoryStreamId(tenantId, successor));

    await renameCategory(deps(), ctx(), { categoryId: successor, name: 'Classics' });
    const restored = await restoreCategory(deps(), ctx(), { categoryId: old });
    expect(restored.state).toMatchObject({ status: 'active', name: 'Latin' });
    expect(await holderOf('Latin')).toBe(categoryStreamId(tenantId, old));
  });

  it('hides another tenant’s category behind not found, on every command; its id is free for a create', async () => {
    tenantId = randomUUID();
    const theirs = await create('Private');
    const stranger = contextFor({ tenantId: randomUUID() });
    for (const attempt of [
      renameCategory(deps(), stranger, { categoryId: theirs, name: 'Mine' }),
      describeCategory(deps(), stranger, { categoryId: theirs, description: 'x' }),
      archiveCategory(deps(), stranger, { categoryId: theirs }),
      restoreCategory(deps(), stranger, { categoryId: theirs }),
    ]) {
      await expect(attempt).rejects.toMatchObject({ kind: 'not_found' });
    }
    expect(await holderOf('Mine', stranger.tenantId)).toBeUndefined();
    // Ids are per tenant: the stranger's create makes its own category in its own stream.
    const created = await createCategory(deps(), stranger, { categoryId: theirs, name: 'Mine', description: '' });
    expect(created).toMatchObject({ streamId: categoryStreamId(stranger.tenantId, theirs), state: { name: 'Mine' } });
    expect((await store.readStream(categoryStreamId(tenantId, theirs))).map((e) => e.type)).toEqual(['CategoryCreated']);
    const mine = await loadAggregate(deps(), categoryDecider, categoryStreamId(tenantId, theirs), { tenantId });
    expect(mine.state).toMatchObject({ name: 'Private' });
  });

  it('recovers from a crash between claim and create: the same category re-uses its claim, others take it after the grace period', async () => {
    tenantId = randomUUID();
    const crashed = randomUUID();
    // As if createCategory had claimed and the process died before appending.
    await reserve(deps(), {
      scope: CATEGORY_NAME_SCOPE,
      tenantId,
      value: 'Robotics',
      ownerStreamId: categoryStreamId(tenantId, crashed),
      context: ctx(),
    });
    await expect(create('Robotics')).rejects.toMatchObject({ rule: 'category.name.unique' });
    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    const other = await create('Robotics');
    expect(await holderOf('Robotics')).toBe(categoryStreamId(tenantId, other));
    await expect(create('Robotics', crashed)).rejects.toMatchObject({ rule: 'category.name.unique' });

    const retried = randomUUID();
    await reserve(deps(), {
      scope: CATEGORY_NAME_SCOPE,
      tenantId,
      value: 'Welding',
      ownerStreamId: categoryStreamId(tenantId, retried),
      context: ctx(),
    });
    await create('Welding', retried); // the client's retry of the crashed request
    expect(await holderOf('Welding')).toBe(categoryStreamId(tenantId, retried));
  });

  it('succeeds when the release after a rename fails, and the stale claim is taken over later', async () => {
    tenantId = randomUUID();
    const id = await create('Botany');
    const releasesFail: EventStore = {
      ...store,
      append: (streamId, events, options) =>
        events.some((e) => e.type === RESERVATION_RELEASED)
          ? Promise.reject(new Error('connection lost'))
          : store.append(streamId, events, options),
    };
    const renamed = await renameCategory({ ...deps(), eventStore: releasesFail }, ctx(), { categoryId: id, name: 'Plant Science' });
    expect(renamed.state).toMatchObject({ name: 'Plant Science' });
    expect(await holderOf('Botany')).toBe(categoryStreamId(tenantId, id)); // left behind

    await expect(create('Botany')).rejects.toMatchObject({ rule: 'category.name.unique' });
    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    const successor = await create('Botany'); // the category no longer holds it: taken over
    expect(await holderOf('Botany')).toBe(categoryStreamId(tenantId, successor));
    // The claim of the name it does hold is never taken over, however old.
    await expect(create('plant science')).rejects.toMatchObject({ rule: 'category.name.unique' });
  });
});
