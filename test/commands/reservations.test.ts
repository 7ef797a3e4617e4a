// Reservation streams: claims, releases, takeover of orphaned claims, and a concurrency property: however
// claims and releases interleave, a value has at most one holder at any time.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDeps } from '../../src/commands/handle-command.js';
import {
  ORPHANED_CLAIM_GRACE_MS,
  RESERVATION_CLAIMED,
  RESERVATION_RELEASED,
  release,
  releaseIfUnheld,
  reservationStreamId,
  reserve,
  type ReservationRequest,
} from '../../src/commands/reservations.js';
import { StreamNotFoundError, type EventStore, type RecordedEvent } from '../../src/ports/event-store.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';
import { postgresService } from '../support/services.js';
import { contextFor, manualClock, openPgliteStore, openPostgresStore, racingStore, type OpenStore } from './fixtures/store.js';

const SCOPE = 'widget.name';

async function history(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  return store.readStream(streamId).catch((error: unknown) => {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  });
}

describe('reservations on PGlite', () => {
  let opened: OpenStore;
  let store: EventStore;
  const clock = manualClock();
  const deps = (): CommandDeps => ({ eventStore: store, clock: clock.now });
  let tenantId: string; // each test takes a fresh one, which keeps their values apart
  const request = (value: string, ownerStreamId: string, extra: Partial<ReservationRequest> = {}): ReservationRequest => ({
    scope: SCOPE,
    tenantId,
    value,
    ownerStreamId,
    context: contextFor({ tenantId }),
    ...extra,
  });
  const claimsOf = async (value: string) =>
    (await history(store, reservationStreamId(SCOPE, tenantId, value))).map((e) => [e.type, e.data.ownerStreamId]);

  beforeAll(async () => {
    opened = await openPgliteStore();
    store = opened.store;
  });
  afterAll(async () => opened?.close());

  it('claims a free value once per owner and refuses other owners with <scope>.unique', async () => {
    tenantId = randomUUID();
    await reserve(deps(), request('Blue Widget', 'widget-1'));
    await reserve(deps(), request('blue   widget ', 'widget-1')); // the same value, the same owner: no-op
    expect(await claimsOf('Blue Widget')).toEqual([[RESERVATION_CLAIMED, 'widget-1']]);

    const refused = await reserve(deps(), request(' BLUE widget', 'widget-2')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RuleViolation);
    expect(refused).toMatchObject({ rule: 'widget.name.unique', kind: 'conflict', field: 'name' });
    expect(await claimsOf('Blue Widget')).toHaveLength(1);

    // Values are per tenant.
    await reserve(deps(), { ...request('Blue Widget', 'widget-9'), tenantId: randomUUID() });
    expect(reservationStreamId(SCOPE, tenantId, 'Blue Widget')).toMatch(/^reservation-[0-9a-f]{32}$/);
  });

  it('lets only the owner release, after which another owner may claim', async () => {
    tenantId = randomUUID();
    await reserve(deps(), request('Red', 'widget-1'));
    await release(deps(), request('Red', 'widget-2'));
    await expect(reserve(deps(), request('Red', 'widget-2'))).rejects.toBeInstanceOf(RuleViolation);
    await release(deps(), request('red', 'widget-1'));
    await release(deps(), request('red', 'widget-1')); // nothing held any more: no-op
    await reserve(deps(), request('Red', 'widget-2'));
    expect(await claimsOf('Red')).toEqual([
      [RESERVATION_CLAIMED, 'widget-1'],
      [RESERVATION_RELEASED, 'widget-1'],
      [RESERVATION_CLAIMED, 'widget-2'],
    ]);
  });

  it('loses a claim raced by another owner with a conflict, not an overwrite', async () => {
    tenantId = randomUUID();
    const streamId = reservationStreamId(SCOPE, tenantId, 'Green');
    const rival = () => ({
      id: randomUUID(),
      type: RESERVATION_CLAIMED,
      data: { ownerStreamId: 'widget-rival' },
      metadata: { tenantId, occurredAt: clock.now().toISOString() },
    });
    const raced = racingStore(store, 1, rival);
    await expect(reserve({ ...deps(), eventStore: raced }, request('Green', 'widget-1'))).rejects.toMatchObject({
      rule: 'widget.name.unique',
    });
    expect((await history(store, streamId)).map((e) => e.data.ownerStreamId)).toEqual(['widget-rival']);
  });

  it('hands an orphaned claim over only after the grace period, and only if its owner does not hold it', async () => {
    tenantId = randomUUID();
    // widget-crashed claimed and died before appending its first event: its stream does not exist.
    await reserve(deps(), request('Amber', 'widget-crashed'));
    await reserve(deps(), request('Amber', 'widget-crashed')); // its retry re-uses the claim
    await expect(reserve(deps(), request('Amber', 'widget-2'))).rejects.toBeInstanceOf(RuleViolation);

    // A live owner: its stream exists, so its claim stands however old.
    await store.append('widget-alive', [{ id: randomUUID(), type: 'WidgetNamed', data: {}, metadata: { tenantId } }], {
      expectedRevision: 'no_stream',
    });
    await reserve(deps(), request('Ochre', 'widget-alive'));

    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    await reserve(deps(), request('Amber', 'widget-2'));
    await expect(reserve(deps(), request('Ochre', 'widget-3'))).rejects.toBeInstanceOf(RuleViolation);
    expect(await claimsOf('Amber')).toEqual([
      [RESERVATION_CLAIMED, 'widget-crashed'],
      [RESERVATION_CLAIMED, 'widget-2'],
    ]);

    // The owner's own view of whether it holds the value decides when one is given.
    await reserve(deps(), request('Teal', 'widget-alive'));
    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    await reserve(deps(), request('Teal', 'widget-4', { stillHolds: async (owner) => owner !== 'widget-alive' }));
    expect((await claimsOf('Teal')).at(-1)).toEqual([RESERVATION_CLAIMED, 'widget-4']);
  });

  it('keeps a claim whose owner lives in its legacy global stream, under either name, and frees one of another tenant', async () => {
    tenantId = `t-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const [legacy, scoped] = [`widget-${id}`, `widget-${tenantId}-${id}`];
    // An owner written before ids were per tenant: its stream has the old name; so may its claim.
    await store.append(legacy, [{ id: randomUUID(), type: 'WidgetNamed', data: {}, metadata: { tenantId } }], {
      expectedRevision: 'no_stream',
    });
    await reserve(deps(), request('Indigo', legacy));
    await reserve(deps(), request('Indigo', scoped)); // the same owner by its new name: no second claim
    await reserve(deps(), request('Umber', scoped));
    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    await expect(reserve(deps(), request('Indigo', 'widget-other'))).rejects.toBeInstanceOf(RuleViolation);
    await expect(reserve(deps(), request('Umber', 'widget-other'))).rejects.toBeInstanceOf(RuleViolation);
    expect(await claimsOf('Indigo')).toEqual([[RESERVATION_CLAIMED, legacy]]);
    await release(deps(), request('Indigo', scoped));
    expect((await claimsOf('Indigo')).at(-1)?.[0]).toBe(RESERVATION_RELEASED);

    // A scoped name whose legacy stream is another tenant's does not exist for this tenant.
    const foreignId = randomUUID();
    await store.append(
      `widget-${foreignId}`,
      [{ id: randomUUID(), type: 'WidgetNamed', data: {}, metadata: { tenantId: 'someone-else' } }],
      {
        expectedRevision: 'no_stream',
      },
    );
    await reserve(deps(), request('Sienna', `widget-${tenantId}-${foreignId}`));
    clock.advance(ORPHANED_CLAIM_GRACE_MS + 1);
    await reserve(deps(), request('Sienna', 'widget-other'));
    expect((await claimsOf('Sienna')).at(-1)).toEqual([RESERVATION_CLAIMED, 'widget-other']);
  });

  it('releases only what the owner no longer holds', async () => {
    tenantId = randomUUID();
    await reserve(deps(), request('Cyan', 'widget-1'));
    await releaseIfUnheld(deps(), request('Cyan', 'widget-1', { stillHolds: async () => true }));
    expect(await claimsOf('Cyan')).toHaveLength(1);
    await releaseIfUnheld(deps(), request('Cyan', 'widget-1', { stillHolds: async () => false }));
    expect((await claimsOf('Cyan')).at(-1)).toEqual([RESERVATION_RELEASED, 'widget-1']);
  });
});

interface Operation {
  readonly kind: 'reserve' | 'release';
  readonly value: string;
  readonly owner: string;
}

/** Walks a reservation stream: a claim only when nobody holds the value, a release only by its holder. */
function assertOneHolderAtATime(events: readonly RecordedEvent[]) {
  let holder: string | undefined;
  for (const event of events) {
    const owner = String(event.data.ownerStreamId);
    if (event.type === RESERVATION_CLAIMED) {
      expect(holder, `claimed by ${owner} while held by ${holder}`).toBeUndefined();
      holder = owner;
    } else {
      expect(owner).toBe(holder);
      holder = undefined;
    }
  }
}

function concurrencyProperty(name: string, open: () => Promise<OpenStore>, numRuns: number) {
  describe(name, () => {
    let opened: OpenStore;
    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => opened?.close());

    const operation = fc.record({
      kind: fc.constantFrom<Operation['kind']>('reserve', 'reserve', 'release'),
      value: fc.constantFrom('alpha', 'Alpha ', 'beta', 'gamma'),
      owner: fc.constantFrom('owner-1', 'owner-2', 'owner-3', 'owner-4'),
    });

    it('never lets two owners hold a value at once, whatever the interleaving', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 2, maxLength: 16 }), async (operations) => {
          const tenantId = randomUUID();
          const deps: CommandDeps = { eventStore: opened.store, clock: () => new Date() };
          const outcomes = await Promise.allSettled(
            operations.map(({ kind, value, owner }) =>
              (kind === 'reserve' ? reserve : release)(deps, {
                scope: SCOPE,
                tenantId,
                value,
                ownerStreamId: owner,
                context: contextFor({ tenantId }),
              }),
            ),
          );
          for (const outcome of outcomes) {
            if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ rule: `${SCOPE}.unique`, kind: 'conflict' });
          }
          const values = [...new Set(operations.map((op) => op.value))];
          const histories = new Map(
            await Promise.all(values.map(async (v) => [v, await history(opened.store, reservationStreamId(SCOPE, tenantId, v))] as const)),
          );
          for (const events of histories.values()) assertOneHolderAtATime(events);
          // Every reservation reported as made is in its stream: the owner claimed it (now or before).
          operations.forEach((op, i) => {
            if (op.kind !== 'reserve' || outcomes[i]!.status !== 'fulfilled') return;
            const claimers = histories
              .get(op.value)!
              .filter((e) => e.type === RESERVATION_CLAIMED)
              .map((e) => e.data.ownerStreamId);
            expect(claimers).toContain(op.owner);
          });
          // Without releases the first claim is final: exactly one owner per value ever succeeds.
          if (operations.every((op) => op.kind === 'reserve')) {
            const winners = new Map<string, Set<string>>();
            operations.forEach((op, i) => {
              if (outcomes[i]!.status !== 'fulfilled') return;
              const key = op.value.trim().toLowerCase();
              winners.set(key, (winners.get(key) ?? new Set()).add(op.owner));
            });
            for (const owners of winners.values()) expect(owners.size).toBe(1);
          }
        }),
        { numRuns },
      );
    });
  });
}

concurrencyProperty('concurrent reservations on PGlite', openPgliteStore, 30);

const postgres = postgresService();
if (!postgres.url) console.warn(`[reservations] PostgreSQL property skipped: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  concurrencyProperty('concurrent reservations on PostgreSQL', () => openPostgresStore(postgres.url!), 30);
});
