// #15.7: a client-chosen config template id belongs to the tenant that uses it. For any sequence of creates,
// changes, deletes and renders by two tenants over a few shared ids, each tenant's answers are the ones it
// would get if the other tenant did not exist (no oracle, no squat), and no command of one tenant writes into
// the other's stream. On PGlite, and on PostgreSQL when the run has one.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConfigTemplate,
  deleteConfigTemplate,
  loadTemplate,
  renderTemplate,
  updateConfigTemplate,
} from '../../../src/commands/environments/index.js';
import type { ConfigCommandDeps } from '../../../src/commands/environments/config-handlers.js';
import { envelopeKeyring } from '../../../src/adapters/secrets/envelope-keyring.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import { postgresService } from '../../support/services.js';
import { contextFor, manualClock, openPgliteStore, openPostgresStore, type OpenStore } from '../fixtures/store.js';

type Op =
  | { kind: 'create'; tenant: 0 | 1; id: number; name: number }
  | { kind: 'update'; tenant: 0 | 1; id: number; text: string }
  | { kind: 'delete'; tenant: 0 | 1; id: number }
  | { kind: 'render'; tenant: 0 | 1; id: number }
  | { kind: 'read'; tenant: 0 | 1; id: number };

const ID_POOL = 3;
const tenantOf = fc.constantFrom<0 | 1>(0, 1);
const idOf = fc.nat({ max: ID_POOL - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), tenant: tenantOf, id: idOf, name: fc.nat({ max: 2 }) }),
  fc.record({ kind: fc.constant('update' as const), tenant: tenantOf, id: idOf, text: fc.constantFrom('one', 'two') }),
  fc.record({ kind: fc.constant('delete' as const), tenant: tenantOf, id: idOf }),
  fc.record({ kind: fc.constant('render' as const), tenant: tenantOf, id: idOf }),
  fc.record({ kind: fc.constant('read' as const), tenant: tenantOf, id: idOf }),
);

function suite(label: string, open: () => Promise<OpenStore>) {
  describe(label, () => {
    let opened: OpenStore;
    let deps: ConfigCommandDeps;
    const clock = manualClock();

    beforeAll(async () => {
      opened = await open();
      deps = { eventStore: opened.store, clock: clock.now, keyring: envelopeKeyring([randomBytes(32)]) };
    });
    afterAll(async () => opened?.close());

    /** What a caller learns from one answer: the outcome and what it shows, never an id. */
    async function answer(tenantId: string, ids: readonly string[], step: Op): Promise<unknown> {
      const context = contextFor({ tenantId, userId: `${tenantId}-user` });
      const templateId = ids[step.id]!;
      try {
        switch (step.kind) {
          case 'create': {
            const definition = {
              name: `T${step.name}`,
              description: '',
              configType: 'configmap' as const,
              variables: [],
              data: { A: 'x' },
            };
            const result = await createConfigTemplate(deps, context, { templateId, definition });
            return { ok: Number(result.revision), events: result.events.map((e) => e.type) };
          }
          case 'update': {
            const result = await updateConfigTemplate(deps, context, { templateId, changes: { description: step.text } });
            return { ok: Number(result.revision), events: result.events.map((e) => e.type) };
          }
          case 'delete': {
            const result = await deleteConfigTemplate(deps, context, { templateId });
            return { ok: Number(result.revision), events: result.events.map((e) => e.type) };
          }
          case 'render':
            return { ok: (await renderTemplate(deps, tenantId, templateId, {})).data };
          case 'read': {
            const state = await loadTemplate(deps, tenantId, templateId);
            return { status: state.status, ...(state.status === 'active' ? { definition: state.definition } : {}) };
          }
        }
      } catch (error) {
        if (error instanceof RuleViolation) return { refused: [error.rule, error.kind, error.field ?? null, error.message] };
        return { failed: (error as Error).name };
      }
    }

    /** Runs `steps` in a world of fresh ids and tenants; each tenant's answers, in order. */
    async function world(steps: readonly Op[]): Promise<[unknown[], unknown[]]> {
      const ids = Array.from({ length: ID_POOL }, () => randomUUID());
      const tenants = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
      const answers: [unknown[], unknown[]] = [[], []];
      for (const step of steps) answers[step.tenant].push(await answer(tenants[step.tenant]!, ids, step));
      return answers;
    }

    it("each tenant's answers are those it gets when the other tenant does not exist", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (steps) => {
          const [togetherA, togetherB] = await world(steps);
          const [aloneA] = await world(steps.filter((s) => s.tenant === 0));
          const [, aloneB] = await world(steps.filter((s) => s.tenant === 1));
          expect(togetherA).toEqual(aloneA);
          expect(togetherB).toEqual(aloneB);
        }),
        { numRuns: 25 },
      );
    });

    it("never writes into another tenant's stream: both tenants' templates of one id live side by side", async () => {
      const templateId = randomUUID();
      const definition = (name: string) => ({ name, description: '', configType: 'configmap' as const, variables: [], data: { A: name } });
      await createConfigTemplate(deps, contextFor({ tenantId: 'acme' }), { templateId, definition: definition('acme-one') });
      await createConfigTemplate(deps, contextFor({ tenantId: 'globex' }), { templateId, definition: definition('globex-one') });
      await updateConfigTemplate(deps, contextFor({ tenantId: 'globex' }), { templateId, changes: { description: 'changed' } });
      expect(await loadTemplate(deps, 'acme', templateId)).toMatchObject({
        status: 'active',
        definition: { name: 'acme-one', description: '' },
      });
      expect(await loadTemplate(deps, 'globex', templateId)).toMatchObject({
        status: 'active',
        definition: { name: 'globex-one', description: 'changed' },
      });
      const all = (await opened.store.readAll({ maxCount: 100_000 })).events.filter((e) => e.data.templateId === templateId);
      const tenantsByStream = new Map<string, Set<unknown>>();
      for (const event of all)
        tenantsByStream.set(event.streamId, (tenantsByStream.get(event.streamId) ?? new Set()).add(event.metadata.tenantId));
      expect([...tenantsByStream.values()].map((tenants) => tenants.size)).toEqual([1, 1]);
    });
  });
}

suite('config template ids per tenant (PGlite)', openPgliteStore);
const postgres = postgresService();
if (postgres.url) suite('config template ids per tenant (PostgreSQL)', () => openPostgresStore(postgres.url!));
