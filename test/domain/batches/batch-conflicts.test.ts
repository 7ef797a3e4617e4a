// Conflict detection and resolution, dry-run impact, and the undo's template commands.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyzeBatch,
  batchProgress,
  detectConflicts,
  batchItemCommandId,
  restoreCommands,
  templateCommandsForItem,
  validateBatchPlan,
  type BatchPlanInput,
  type BatchSnapshot,
  type ConflictResolution,
} from '../../../src/domain/batches/index.js';
import { statusPath, templateDecider, type TemplateState } from '../../../src/domain/templates/index.js';
import { NOW, TENANT, snapshot, template, uuid } from './batch-fixtures.js';

function report(request: BatchPlanInput, snap: BatchSnapshot, conflictResolution: ConflictResolution = 'skip') {
  const plan = validateBatchPlan({ ...request, options: { conflictResolution } }, { maxItems: 1000, now: NOW });
  return detectConflicts(plan, snap);
}

const update = (n: number, changes: Record<string, unknown>, expectedRevision: number | null = 3) => ({
  templateId: uuid(n),
  expectedRevision,
  changes,
});

describe('Batch conflict detection', () => {
  describe('version', () => {
    const moved = template(1, {
      revision: 5,
      history: [
        { revision: 4, fields: ['name'] },
        { revision: 5, fields: [] },
      ],
    });

    it('reports a template that moved on, with the fields changed since the item revision', () => {
      const { conflicts } = report({ operation: 'update', items: [update(1, { description: 'x' })] }, snapshot([moved]));
      expect(conflicts).toMatchObject([
        {
          index: 0,
          type: 'version',
          rule: 'batch.conflict.version',
          changedFields: ['name'],
          currentRevision: 5,
          overridable: true,
          mergeable: true,
        },
      ]);
    });

    it('merge re-applies disjoint fields on the newer revision; overlapping fields or a history gap are skipped', () => {
      expect(report({ operation: 'update', items: [update(1, { description: 'x' })] }, snapshot([moved]), 'merge').decisions).toEqual([
        { index: 0, templateId: uuid(1), run: true, runAgainstRevision: 5, resolution: 'merged' },
      ]);
      expect(report({ operation: 'update', items: [update(1, { name: 'Other' })] }, snapshot([moved]), 'merge').decisions[0]).toMatchObject(
        { run: false, resolution: 'skipped' },
      );
      const gap = template(1, { revision: 5, history: [{ revision: 5, fields: [] }] });
      expect(
        report({ operation: 'update', items: [update(1, { description: 'x' })] }, snapshot([gap]), 'merge').decisions[0],
      ).toMatchObject({ run: false });
    });

    it('override applies the item against the current revision; no revision given means no check', () => {
      expect(
        report({ operation: 'update', items: [update(1, { name: 'Other' })] }, snapshot([moved]), 'override').decisions[0],
      ).toMatchObject({
        run: true,
        runAgainstRevision: 5,
        resolution: 'overridden',
      });
      expect(report({ operation: 'update', items: [update(1, { name: 'Other' }, null)] }, snapshot([moved])).conflicts).toEqual([]);
    });
  });

  describe('dependency', () => {
    const parent = template(1, {
      children: [
        { templateId: uuid(2), status: 'active', ownerTenantId: TENANT },
        { templateId: uuid(3), status: 'archived', ownerTenantId: TENANT },
      ],
      descendantIds: [uuid(2), uuid(3)],
      subtreeDepth: 2,
    });
    const child = template(2, { parentTemplateId: uuid(1) });

    it('lists the active children an archive or delete would orphan; override archives but never deletes', () => {
      const archive = report({ operation: 'archive', items: [{ templateId: uuid(1) }] }, snapshot([parent, child]), 'override');
      expect(archive.conflicts).toMatchObject([
        {
          type: 'dependency',
          rule: 'batch.dependency.active_children',
          relatedTemplateIds: [uuid(2)],
          overridable: true,
          resolution: 'overridden',
        },
      ]);
      expect(archive.decisions[0]?.run).toBe(true);
      const remove = report({ operation: 'delete', items: [{ templateId: uuid(1) }] }, snapshot([parent, child]), 'override');
      expect(remove.decisions[0]).toMatchObject({ run: false, resolution: 'skipped' });
    });

    it('counts other tenants’ children under a public template without naming them', () => {
      const shared = template(1, {
        isPublic: true,
        children: [
          { templateId: uuid(2), status: 'active', ownerTenantId: TENANT },
          { templateId: uuid(9), status: 'draft', ownerTenantId: 'globex' },
        ],
      });
      const [conflict] = report({ operation: 'delete', items: [{ templateId: uuid(1) }] }, snapshot([shared, child])).conflicts;
      expect(conflict).toMatchObject({
        relatedTemplateIds: [uuid(2)],
        message: '2 active child template(s) would be orphaned (1 of other tenants)',
      });
      expect(JSON.stringify(conflict)).not.toContain(uuid(9));
    });

    it('does not count children the same batch archives', () => {
      expect(
        report({ operation: 'archive', items: [{ templateId: uuid(1) }, { templateId: uuid(2) }] }, snapshot([parent, child])).conflicts,
      ).toEqual([]);
    });

    it('refuses a new parent that makes a cycle, also one made by two items together, or goes deeper than 10', () => {
      const cycle = report(
        { operation: 'changeParent', items: [{ templateId: uuid(1), parentTemplateId: uuid(2) }] },
        snapshot([parent, child]),
      );
      expect(cycle.conflicts).toMatchObject([{ type: 'dependency', rule: 'template.parent.cycle', overridable: false }]);
      const a = template(4);
      const b = template(5);
      const together = report(
        {
          operation: 'changeParent',
          items: [
            { templateId: uuid(4), parentTemplateId: uuid(5) },
            { templateId: uuid(5), parentTemplateId: uuid(4) },
          ],
        },
        snapshot([a, b]),
        'override',
      );
      expect(together.decisions.map((d) => d.run)).toEqual([true, false]);
      expect(together.conflicts).toMatchObject([{ index: 1, rule: 'template.parent.cycle' }]);
      const chain = Array.from({ length: 9 }, (_, i) => template(10 + i, { parentTemplateId: i === 0 ? null : uuid(10 + i - 1) }));
      const deep = template(30, { subtreeDepth: 2 });
      const tooDeep = report(
        { operation: 'changeParent', items: [{ templateId: uuid(30), parentTemplateId: uuid(18) }] },
        snapshot([...chain, deep]),
      );
      expect(tooDeep.conflicts).toMatchObject([{ rule: 'template.parent.depth' }]);
    });

    it('refuses a parent that does not exist or another tenant keeps private', () => {
      const foreign = template(6, { ownerTenantId: 'other' });
      const missing = report(
        {
          operation: 'changeParent',
          items: [
            { templateId: uuid(2), parentTemplateId: uuid(99) },
            { templateId: uuid(1), parentTemplateId: uuid(6) },
          ],
        },
        snapshot([parent, child, foreign]),
      );
      expect(missing.conflicts.map((c) => [c.index, c.rule])).toEqual([
        [0, 'template.parent.not_found'],
        [1, 'template.parent.not_found'],
      ]);
    });
  });

  describe('integrity', () => {
    it('reports changes the template would refuse, by field, and override never applies them', () => {
      const archived = template(2, { status: 'archived' });
      const result = report(
        {
          operation: 'update',
          items: [
            update(1, { defaultMinParticipants: 20 }),
            update(2, { description: 'x' }),
            update(3, { defaultPrice: { amountMinor: -1, currency: 'EUR' } }),
          ],
        },
        snapshot([template(1), archived, template(3)]),
        'override',
      );
      expect(result.conflicts.map((c) => [c.index, c.type, c.rule, c.field])).toEqual([
        [0, 'integrity', 'template.participants.order', 'changes.defaultMinParticipants'],
        [1, 'integrity', 'template.archived', 'resource.status'],
        [2, 'integrity', 'template.price.range', 'changes.defaultPrice.amountMinor'],
      ]);
      expect(result.decisions.map((d) => d.run)).toEqual([false, false, false]);
    });

    it('checks a create with the template rules and refuses an id already taken', () => {
      const result = report(
        {
          operation: 'create',
          items: [
            { templateId: uuid(1), name: 'New', templateType: 'base' },
            { templateId: uuid(7), name: 'New 7', templateType: 'nope' },
            { templateId: uuid(8), name: 'New 8', templateType: 'base' },
          ],
        },
        snapshot([template(1)]),
      );
      expect(result.conflicts.map((c) => [c.index, c.rule])).toEqual([
        [0, 'template.exists'],
        [1, 'template.type.enum'],
      ]);
      expect(result.decisions.map((d) => d.run)).toEqual([false, false, true]);
    });
  });

  describe('business rules and access', () => {
    it('reports names taken by existing templates or earlier items, ignoring case and spaces', () => {
      const result = report(
        {
          operation: 'create',
          items: [
            { templateId: uuid(7), name: '  template   1 ', templateType: 'base' },
            { templateId: uuid(8), name: 'Fresh', templateType: 'base' },
            { templateId: uuid(9), name: 'FRESH', templateType: 'base' },
          ],
        },
        snapshot([template(1)]),
      );
      expect(result.conflicts.map((c) => [c.index, c.rule, c.relatedTemplateIds])).toEqual([
        [0, 'batch.name.collision', [uuid(1)]],
        [2, 'batch.name.collision', [uuid(8)]],
      ]);
    });

    it('stops creating at the tenant template limit', () => {
      const items = [7, 8, 9].map((n) => ({ templateId: uuid(n), name: `New ${n}`, templateType: 'base' }));
      const result = report({ operation: 'create', items }, snapshot([template(1)], { maxTemplatesPerTenant: 3 }));
      expect(result.decisions.map((d) => d.run)).toEqual([true, true, false]);
      expect(result.conflicts).toMatchObject([{ index: 2, type: 'business_rule', rule: 'batch.tenant.template_limit' }]);
    });

    it('treats another tenant template as missing and a system template as read-only', () => {
      const result = report(
        { operation: 'archive', items: [{ templateId: uuid(1) }, { templateId: uuid(2) }, { templateId: uuid(3) }] },
        snapshot([
          template(1, { ownerTenantId: 'other', isPublic: true }),
          template(2, { isSystemTemplate: true, ownerTenantId: 'system' }),
        ]),
        'override',
      );
      expect(result.conflicts.map((c) => [c.type, c.rule])).toEqual([
        ['access', 'template.not_found'],
        ['access', 'template.system.read_only'],
        ['access', 'template.not_found'],
      ]);
      expect(result.decisions.every((d) => !d.run)).toBe(true);
    });
  });
});

describe('Batch impact analysis', () => {
  it('counts the templates changed, descendants reached and usages, and names the risk rule', () => {
    const parent = template(1, { usageCount: 40, descendantIds: [uuid(2), uuid(3)] });
    const snap = snapshot([parent, template(2), template(3)]);
    const inherited = analyzeBatch(
      validateBatchPlan({ operation: 'update', items: [update(1, { defaultDuration: 30 })] }, { maxItems: 10, now: NOW }),
      snap,
    );
    expect(inherited.impact).toEqual({
      templatesChanged: [uuid(1)],
      affectedDescendants: [uuid(2), uuid(3)],
      usageCount: 40,
      risk: { level: 'medium', rule: 'risk.descendants', reason: '2 descendant templates would change' },
    });
    const rename = analyzeBatch(
      validateBatchPlan({ operation: 'update', items: [update(2, { name: 'Renamed' })] }, { maxItems: 10, now: NOW }),
      snap,
    );
    expect(rename.impact).toMatchObject({ affectedDescendants: [], usageCount: 0, risk: { level: 'low', rule: 'risk.low' } });
    const remove = analyzeBatch(
      validateBatchPlan({ operation: 'delete', items: [{ templateId: uuid(1) }] }, { maxItems: 10, now: NOW }),
      snap,
    );
    expect(remove.impact.risk).toMatchObject({ level: 'critical', rule: 'risk.delete_in_use' });
    const forced = analyzeBatch(
      validateBatchPlan(
        { operation: 'update', items: [update(3, { name: 'x' }, 1)], options: { conflictResolution: 'override' } },
        { maxItems: 10, now: NOW },
      ),
      snap,
    );
    expect(forced.impact.risk).toMatchObject({ level: 'high', rule: 'risk.overridden' });
  });
});

describe('Batch undo commands', () => {
  const ID = uuid(1);
  const fold = (state: TemplateState, commands: Parameters<typeof templateDecider.decide>[0][]) =>
    commands.reduce((s, command) => templateDecider.decide(command, s).reduce(templateDecider.evolve, s), state);
  const active = fold(templateDecider.initialState(), [
    { type: 'CreateTemplate', data: { templateId: ID, ownerTenantId: TENANT, name: 'A', templateType: 'base' } },
    { type: 'ActivateTemplate', data: {} },
  ]);

  it('brings an updated and archived template back to its version, parent and status before the batch', () => {
    const after = fold(active, [
      { type: 'UpdateTemplate', data: { name: 'B' } },
      { type: 'ArchiveTemplate', data: {} },
    ]);
    const target = { exists: true, version: 1, status: 'active' as const, parentTemplateId: null };
    const commands = restoreCommands(after, target);
    expect(commands.map((c) => c.type)).toEqual(['UnarchiveTemplate', 'RestoreTemplateVersion', 'ActivateTemplate']);
    const restored = fold(after, commands);
    expect(restored).toMatchObject({ status: 'active', content: { name: 'A' }, version: 3 });
  });

  it('undoes a delete by undeleting first, then restoring from the state the template had', () => {
    const deleted = fold(active, [
      { type: 'UpdateTemplate', data: { name: 'B' } },
      { type: 'DeleteTemplate', data: {} },
    ]);
    expect(deleted.status).toBe('absent');
    const target = { exists: true, version: 1, status: 'active' as const, parentTemplateId: null };
    const commands = restoreCommands(deleted, target);
    expect(commands.map((c) => c.type)).toEqual(['UndeleteTemplate', 'RestoreTemplateVersion']);
    expect(fold(deleted, commands)).toMatchObject({ status: 'active', content: { name: 'A' }, version: 3 });
    // Only deleted: back as it was, nothing else to run.
    const onlyDeleted = fold(active, [{ type: 'DeleteTemplate', data: {} }]);
    expect(restoreCommands(onlyDeleted, { ...target, version: 1 })).toEqual([{ type: 'UndeleteTemplate', data: {} }]);
    // Never existed, or created by the batch and deleted since: nothing to bring back.
    expect(restoreCommands({ status: 'absent' }, target)).toEqual([]);
    expect(restoreCommands(onlyDeleted, { exists: false, version: null, status: null, parentTemplateId: null })).toEqual([]);
  });

  it('maps a delete item to DeleteTemplate', () => {
    const plan = validateBatchPlan({ operation: 'delete', items: [{ templateId: ID }] }, { maxItems: 10, now: NOW });
    expect(templateCommandsForItem(plan.items[0]!, TENANT, active)).toEqual([{ type: 'DeleteTemplate', data: {} }]);
  });

  it('archives what the batch created, and finds status paths through the lifecycle', () => {
    expect(restoreCommands(active, { exists: false, version: null, status: null, parentTemplateId: null })).toEqual([
      { type: 'ArchiveTemplate', data: {} },
    ]);
    expect(statusPath('archived', 'deprecated')).toEqual(['draft', 'active', 'deprecated']);
    expect(statusPath('active', 'active')).toEqual([]);
  });
});

describe('Batch item commands', () => {
  it('turns a create item into the template command of the batch tenant, with batchId:index as its id', () => {
    const plan = validateBatchPlan(
      { operation: 'create', items: [{ templateId: uuid(7).toUpperCase(), name: ' New ', templateType: 'base', defaultDuration: 30 }] },
      { maxItems: 10, now: NOW },
    );
    const [command, ...rest] = templateCommandsForItem(plan.items[0]!, TENANT, { status: 'absent' });
    expect(rest).toEqual([]);
    expect(templateDecider.decide(command!, { status: 'absent' })).toMatchObject([
      {
        type: 'TemplateCreated',
        data: { templateId: uuid(7), ownerTenantId: TENANT, name: 'New', defaultDuration: 30, parentTemplateId: null },
      },
    ]);
    expect(batchItemCommandId(uuid(1), 4)).toBe(`${uuid(1)}:4`);
    expect(batchItemCommandId(uuid(1), 4, 2)).toBe(`${uuid(1)}:4:2`);
  });
});

describe('Batch progress', () => {
  it('gives counts, percentage, throughput and ETA from the timestamps passed in', () => {
    const counts = { pending: 50, queued: 10, succeeded: 30, failed: 10, skipped: 0, cancelled: 0 };
    expect(batchProgress(counts, { startedAt: '2026-11-26T12:00:00.000Z', now: '2026-11-26T12:00:20.000Z' })).toEqual({
      total: 100,
      ...counts,
      percentage: 40,
      throughputPerSecond: 2,
      etaSeconds: 30,
    });
    expect(batchProgress(counts, { startedAt: null, now: NOW })).toMatchObject({ throughputPerSecond: null, etaSeconds: null });
  });

  it('gives the ETA in whole seconds, rounded up: 0 only when nothing is left', () => {
    // 40 ran in 3 s: 60 left at 13.3…/s is 4.5 s, answered as 5.
    const counts = { pending: 50, queued: 10, succeeded: 30, failed: 10, skipped: 0, cancelled: 0 };
    expect(batchProgress(counts, { startedAt: '2026-11-26T12:00:00.000Z', now: '2026-11-26T12:00:03.000Z' }).etaSeconds).toBe(5);
    const count = fc.nat({ max: 10_000 });
    fc.assert(
      fc.property(count, count, count, count, fc.integer({ min: 0, max: 10_000_000 }), (pending, queued, succeeded, failed, elapsedMs) => {
        const now = new Date(Date.parse(NOW) + elapsedMs).toISOString();
        const { etaSeconds } = batchProgress({ pending, queued, succeeded, failed, skipped: 0, cancelled: 0 }, { startedAt: NOW, now });
        if (etaSeconds !== null) expect(Number.isInteger(etaSeconds)).toBe(true);
        expect(etaSeconds === 0).toBe(pending + queued === 0);
      }),
    );
  });
});
