// The generic command handler against the PostgreSQL event store on PGlite: metadata, retries after a
// racing writer, If-Match, idempotency, tenancy, upcasting, "as of" loads, and a concurrency property
// (also on a real PostgreSQL when the run has one).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicUuid } from '../../src/commands/deterministic-uuid.js';
import { handleCommand, loadAggregate, type CommandDeps } from '../../src/commands/handle-command.js';
import { UnknownSchemaVersionError, type Upcasters } from '../../src/commands/upcasters.js';
import { START, WrongExpectedRevisionError, type EventStore, type EventToAppend } from '../../src/ports/event-store.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';
import { postgresService } from '../support/services.js';
import { counterDecider, countingDecides } from './fixtures/counter.js';
import { contextFor, manualClock, openPgliteStore, openPostgresStore, racingStore, type OpenStore } from './fixtures/store.js';

const counterStream = () => `counter-${randomUUID()}`;

/** An increment written by someone else, as the handler would have written it for tenant-a. */
const foreignIncrement = (by = 100): EventToAppend => ({
  id: randomUUID(),
  type: 'Incremented',
  data: { by },
  metadata: { tenantId: 'tenant-a', userId: 'someone-else', commandId: randomUUID(), occurredAt: new Date().toISOString() },
});

describe('handleCommand on PGlite', () => {
  let opened: OpenStore;
  let store: EventStore;
  const clock = manualClock();
  const deps = (): CommandDeps => ({ eventStore: store, clock: clock.now });

  beforeAll(async () => {
    opened = await openPgliteStore();
    store = opened.store;
  });
  afterAll(async () => opened?.close());

  it('appends the decided events with their metadata, deterministic ids and the injected clock', async () => {
    const streamId = counterStream();
    const context = contextFor({ causationId: 'event-42' });
    const result = await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'IncrementAndNote', by: 3, note: 'hi' },
      context,
    });

    const stored = await store.readStream(streamId);
    expect(stored.map((e) => [e.type, e.data])).toEqual([
      ['Incremented', { by: 3, after: 3 }],
      ['Noted', { note: 'hi' }],
    ]);
    for (const event of stored) {
      expect(event.metadata).toEqual({
        tenantId: 'tenant-a',
        userId: 'user-1',
        commandId: context.commandId,
        correlationId: context.correlationId,
        causationId: 'event-42',
        occurredAt: '2026-01-02T03:04:05.678Z',
        schemaVersion: 1,
      });
    }
    expect(stored.map((e) => e.id)).toEqual([0, 1].map((i) => deterministicUuid(streamId, `${context.commandId}:${i}`)));
    expect(result).toEqual({
      streamId,
      revision: 1n,
      position: stored[1]!.position,
      events: stored.map(({ id, type, data }) => ({ id, type, data })),
      state: { count: 3, events: 2 },
      idempotent: false,
    });
  });

  it('uses the command id as causation when none is given', async () => {
    const streamId = counterStream();
    const context = contextFor();
    await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 1 }, context });
    const [event] = await store.readStream(streamId);
    expect(event!.metadata.causationId).toBe(context.commandId);
  });

  it('decides again on fresh state after a racing writer, and gives up after maxRetries', async () => {
    const streamId = counterStream();
    await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 1 }, context: contextFor() });

    const racedOnce = racingStore(store, 1, () => foreignIncrement(100));
    const counting = countingDecides(counterDecider);
    const result = await handleCommand({ ...deps(), eventStore: racedOnce }, counting.decider, {
      streamId,
      command: { type: 'Increment', by: 5 },
      context: contextFor(),
    });
    expect(counting.calls()).toBe(2);
    expect(racedOnce.appendCalls()).toBe(2);
    expect(result.state).toEqual({ count: 106, events: 3 });
    expect(result.events.map((e) => e.data)).toEqual([{ by: 5, after: 106 }]); // decided on the racer's state
    expect(result.revision).toBe(2n);

    const alwaysRaced = racingStore(store, Infinity, () => foreignIncrement(100));
    const failing = handleCommand({ ...deps(), eventStore: alwaysRaced, maxRetries: 2 }, counterDecider, {
      streamId,
      command: { type: 'Increment', by: 5 },
      context: contextFor(),
    });
    await expect(failing).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(alwaysRaced.appendCalls()).toBe(3); // the first attempt and two retries
    const events = await store.readStream(streamId);
    expect(events.filter((e) => e.data.by === 5)).toHaveLength(1); // only the command that succeeded
  });

  it('fails at once with WrongExpectedRevisionError when the caller’s expected revision (If-Match) is stale', async () => {
    const streamId = counterStream();
    await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'IncrementAndNote', by: 1, note: 'n' },
      context: contextFor(),
    });

    const counting = countingDecides(counterDecider);
    const stale = handleCommand(deps(), counting.decider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor(),
      expectedRevision: 0n,
    });
    await expect(stale).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', expected: 0n, actual: 1n });
    const missing = handleCommand(deps(), counting.decider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor(),
      expectedRevision: 'no_stream',
    });
    await expect(missing).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(counting.calls()).toBe(0);

    // Right when read, stale when written: no retry either, since the caller decided on what it had seen.
    const raced = racingStore(store, Infinity, () => foreignIncrement());
    const racedWrite = handleCommand({ ...deps(), eventStore: raced }, counterDecider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor(),
      expectedRevision: 1n,
    });
    await expect(racedWrite).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(raced.appendCalls()).toBe(1);

    const fresh = await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor(),
      expectedRevision: 2n,
    });
    expect(fresh.revision).toBe(3n);
  });

  it('answers a repeated command id with the first result, without deciding or appending again', async () => {
    const streamId = counterStream();
    const context = contextFor();
    const first = await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'IncrementAndNote', by: 2, note: 'x' },
      context,
    });
    await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 10 }, context: contextFor() });

    const counting = countingDecides(counterDecider);
    // The retry carries the If-Match of the original request, now stale: still the original answer.
    const again = await handleCommand(deps(), counting.decider, {
      streamId,
      command: { type: 'IncrementAndNote', by: 2, note: 'x' },
      context,
      expectedRevision: 'no_stream',
    });
    expect(counting.calls()).toBe(0);
    expect(again).toEqual({ ...first, state: { count: 12, events: 3 }, idempotent: true });
    expect(await store.readStream(streamId)).toHaveLength(3);
  });

  it('answers a retried create with its first result even when deciding it again would now refuse', async () => {
    // A create whose decision depends on inputs read just before it (a batch's snapshot): the first run
    // succeeded, and on the retry the same command id is refused by the decision on the initial state.
    const streamId = counterStream();
    const context = contextFor();
    const first = await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context,
      expectNew: true,
    });
    const again = await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'IncrementExisting', by: 1 },
      context,
      expectNew: true,
    });
    expect(again).toMatchObject({ revision: first.revision, position: first.position, idempotent: true });
    expect(await store.readStream(streamId)).toHaveLength(1);
    // A new command id is still refused.
    await expect(
      handleCommand(deps(), counterDecider, {
        streamId: counterStream(),
        command: { type: 'IncrementExisting', by: 1 },
        context: contextFor(),
        expectNew: true,
      }),
    ).rejects.toMatchObject({ rule: 'counter.not_found' });
  });

  it('writes a command once when copies of it race each other', async () => {
    const streamId = counterStream();
    await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 1 }, context: contextFor() });
    const context = contextFor();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        handleCommand(deps(), counterDecider, { streamId, command: { type: 'IncrementAndNote', by: 7, note: 'once' }, context }),
      ),
    );
    const stored = await store.readStream(streamId);
    expect(stored.map((e) => e.type)).toEqual(['Incremented', 'Incremented', 'Noted']);
    expect(new Set(results.map((r) => r.revision))).toEqual(new Set([2n]));
    expect(new Set(results.map((r) => r.events.map((e) => e.id).join()))).toEqual(
      new Set([
        stored
          .slice(1)
          .map((e) => e.id)
          .join(),
      ]),
    );
  });

  it('treats another tenant’s stream exactly like a missing one', async () => {
    const streamId = counterStream();
    await handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor({ tenantId: 'tenant-a' }),
    });

    const asOtherTenant = (id: string) =>
      handleCommand(deps(), counterDecider, {
        streamId: id,
        command: { type: 'IncrementExisting', by: 1 },
        context: contextFor({ tenantId: 'tenant-b' }),
      }).catch((e: unknown) => e);
    const [theirs, missing] = await Promise.all([asOtherTenant(streamId), asOtherTenant(counterStream())]);
    for (const error of [theirs, missing]) {
      expect(error).toBeInstanceOf(RuleViolation);
      expect(error).toMatchObject({ rule: 'counter.not_found', kind: 'not_found', message: 'not found' });
    }
    // A command that would create the stream is refused too, rather than appending to another tenant's.
    const create = handleCommand(deps(), counterDecider, {
      streamId,
      command: { type: 'Increment', by: 1 },
      context: contextFor({ tenantId: 'tenant-b' }),
    });
    await expect(create).rejects.toMatchObject({ kind: 'not_found' });
    await expect(loadAggregate(deps(), counterDecider, streamId, { tenantId: 'tenant-b' })).rejects.toMatchObject({ kind: 'not_found' });
    expect(await store.readStream(streamId)).toHaveLength(1);
  });

  it('upcasts stored events of older schema versions before folding, and writes the current version', async () => {
    // Version 1 of Incremented said `amount`; version 2 says `by`.
    const upcasters: Upcasters = { Incremented: [(data) => ({ by: data.amount ?? 0 })] };
    const streamId = counterStream();
    const meta = { tenantId: 'tenant-a', occurredAt: clock.now().toISOString() };
    await store.append(
      streamId,
      [
        { id: randomUUID(), type: 'Incremented', data: { amount: 4 }, metadata: { ...meta, schemaVersion: 1 } },
        { id: randomUUID(), type: 'Incremented', data: { amount: 5 }, metadata: meta }, // written before versions existed
        { id: randomUUID(), type: 'Incremented', data: { by: 6 }, metadata: { ...meta, schemaVersion: 2 } },
      ],
      { expectedRevision: 'no_stream' },
    );
    const result = await handleCommand({ ...deps(), upcasters }, counterDecider, {
      streamId,
      command: { type: 'IncrementAndNote', by: 1, note: 'n' },
      context: contextFor(),
    });
    expect(result.state).toEqual({ count: 16, events: 5 });
    const written = (await store.readStream(streamId)).slice(3);
    expect(written.map((e) => [e.type, e.metadata.schemaVersion])).toEqual([
      ['Incremented', 2],
      ['Noted', 1],
    ]);

    // Without the upcaster, version 2 is from the future: refused rather than misread.
    await expect(
      handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 1 }, context: contextFor() }),
    ).rejects.toBeInstanceOf(UnknownSchemaVersionError);
  });

  it('appends nothing when nothing is decided and reports where the stream stands', async () => {
    const missing = await handleCommand(deps(), counterDecider, {
      streamId: counterStream(),
      command: { type: 'Nothing' },
      context: contextFor(),
    });
    expect(missing).toMatchObject({ revision: -1n, position: START, events: [], idempotent: false });

    const streamId = counterStream();
    const written = await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Increment', by: 2 }, context: contextFor() });
    const nothing = await handleCommand(deps(), counterDecider, { streamId, command: { type: 'Nothing' }, context: contextFor() });
    expect(nothing).toEqual({
      streamId,
      revision: 0n,
      position: written.position,
      events: [],
      state: { count: 2, events: 1 },
      idempotent: false,
    });
    expect(await store.readStream(streamId)).toHaveLength(1);
  });

  it('loads the state as of a moment: the events that occurred up to then', async () => {
    const streamId = counterStream();
    const local = manualClock(new Date('2026-03-01T00:00:00.000Z'));
    const localDeps = { ...deps(), clock: local.now };
    for (const by of [1, 10, 100]) {
      await handleCommand(localDeps, counterDecider, { streamId, command: { type: 'Increment', by }, context: contextFor() });
      local.advance(60_000);
    }
    const asOf = async (iso: string) => loadAggregate(localDeps, counterDecider, streamId, { tenantId: 'tenant-a', asOf: new Date(iso) });
    expect(await asOf('2026-02-28T23:59:59.999Z')).toMatchObject({ state: { count: 0 }, revision: undefined, events: [] });
    expect(await asOf('2026-03-01T00:00:00.000Z')).toMatchObject({ state: { count: 1 }, revision: 0n });
    expect(await asOf('2026-03-01T00:01:30.000Z')).toMatchObject({ state: { count: 11 }, revision: 1n });
    expect((await asOf('2030-01-01T00:00:00.000Z')).state.count).toBe(111);
    expect((await loadAggregate(localDeps, counterDecider, streamId, { tenantId: 'tenant-a' })).state.count).toBe(111);
  });
});

/** N concurrent increments of one stream: each succeeds within its retries or fails with a conflict, and
 * the stream holds exactly the successful ones: no update is lost and none is written twice. */
function concurrentIncrementsProperty(name: string, open: () => Promise<OpenStore>, numRuns: number) {
  describe(name, () => {
    let opened: OpenStore;
    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => opened?.close());

    it('never loses an update under concurrent increments with retries', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 12 }),
          fc.integer({ min: 0, max: 4 }),
          async (amounts, maxRetries) => {
            const streamId = counterStream();
            const deps: CommandDeps = { eventStore: opened.store, clock: () => new Date(), maxRetries };
            const outcomes = await Promise.allSettled(
              amounts.map((by) =>
                handleCommand(deps, counterDecider, { streamId, command: { type: 'Increment', by }, context: contextFor() }),
              ),
            );
            const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason as unknown);
            for (const failure of failures) expect(failure).toBeInstanceOf(WrongExpectedRevisionError);
            const succeeded = amounts.filter((_, i) => outcomes[i]!.status === 'fulfilled');
            expect(succeeded.length).toBeGreaterThan(0); // the first writer cannot conflict with anyone earlier
            const { state, revision } = await loadAggregate(deps, counterDecider, streamId, { tenantId: 'tenant-a' });
            expect(state.events).toBe(succeeded.length);
            expect(state.count).toBe(succeeded.reduce((sum, by) => sum + by, 0));
            expect(revision).toBe(BigInt(succeeded.length - 1));
            // Each increment was decided on the state right before it: none decided on a stale count.
            const events = await opened.store.readStream(streamId);
            let running = 0;
            for (const event of events) expect(event.data.after).toBe((running += Number(event.data.by)));
            // Each success reported a distinct revision, the one its event was written at.
            const revisions = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.revision] : []));
            expect(new Set(revisions).size).toBe(succeeded.length);
          },
        ),
        { numRuns },
      );
    });
  });
}

concurrentIncrementsProperty('concurrent increments on PGlite', openPgliteStore, 25);

const postgres = postgresService();
if (!postgres.url) console.warn(`[handle-command] PostgreSQL property skipped: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  concurrentIncrementsProperty('concurrent increments on PostgreSQL', () => openPostgresStore(postgres.url!), 25);
});
