// #15.7 as a property: whatever the interleaving of creates and renames by several tenants over a few shared
// category ids, each tenant sees exactly what it did itself (a create succeeds iff that tenant has not used
// the id, a rename iff it has), as if no other tenant existed. Before ids were per tenant, the second
// tenant's create of an id was "not found" and its renames changed nothing of its own.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCategory, renameCategory } from '../../src/commands/categories/index.js';
import { loadAggregate, type CommandDeps } from '../../src/commands/handle-command.js';
import { categoryDecider, categoryStreamId } from '../../src/domain/categories/index.js';
import { contextFor, manualClock, openPgliteStore, type OpenStore } from './fixtures/store.js';

type Step = { tenant: number; id: number; action: 'create' | 'rename' };

describe('client-chosen category ids per tenant (PGlite)', () => {
  let opened: OpenStore;
  const clock = manualClock();
  const deps = (): CommandDeps => ({ eventStore: opened.store, clock: clock.now });

  beforeAll(async () => {
    opened = await openPgliteStore();
  });
  afterAll(async () => opened?.close());

  it('gives each tenant the outcome it would have alone', async () => {
    const step = fc.record({ tenant: fc.nat(2), id: fc.nat(2), action: fc.constantFrom('create' as const, 'rename' as const) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps: Step[]) => {
        const run = randomUUID().slice(0, 8); // fresh tenants and ids per run: runs never meet
        const tenants = [0, 1, 2].map((n) => `t${n}-${run}`);
        const ids = [0, 1, 2].map(() => randomUUID());
        const model = new Map<string, string>(); // `${tenant}/${id}` → name
        for (const [index, { tenant, id, action }] of steps.entries()) {
          const context = contextFor({ tenantId: tenants[tenant]! });
          const key = `${tenant}/${id}`;
          const name = `n${index}`; // never reused, so no name clash decides an outcome
          const outcome =
            action === 'create'
              ? createCategory(deps(), context, { categoryId: ids[id]!, name, description: '' })
              : renameCategory(deps(), context, { categoryId: ids[id]!, name });
          const expectedOk = action === 'create' ? !model.has(key) : model.has(key);
          const error = await outcome.then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect({ index, action, ok: error === undefined }).toEqual({ index, action, ok: expectedOk });
          if (!expectedOk) expect(error).toMatchObject({ kind: action === 'create' ? 'conflict' : 'not_found' });
          if (expectedOk) model.set(key, name);
        }
        for (const [tenant, tenantId] of tenants.entries())
          for (const [id, categoryId] of ids.entries()) {
            const { state } = await loadAggregate(deps(), categoryDecider, categoryStreamId(tenantId, categoryId), { tenantId });
            const name = model.get(`${tenant}/${id}`);
            expect(state).toMatchObject(name === undefined ? { status: 'absent' } : { status: 'active', name });
          }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
