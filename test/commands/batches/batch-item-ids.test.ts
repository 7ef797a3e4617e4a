// Batch create items may leave templateId out (#15): each gets one derived from the batch id and the item's
// index, so a retried request creates the same templates; other operations still need the id.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchItemTemplateId } from '../../../src/commands/batches/batch-commands.js';
import { validateBatchPlan, withCreateItemIds } from '../../../src/domain/batches/index.js';
import { refusal } from '../../support/decider-spec.js';

const NOW = '2026-11-26T12:00:00.000Z';
const limits = { maxItems: 1000, now: NOW };

describe('batch create items without templateId', () => {
  it('get an id from the batch and the index: the same on a retry, distinct per item; given ids are kept', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }), (batchId, givenFlags) => {
        const given = givenFlags.map((g) => (g ? randomUUID() : undefined));
        const items = given.map((id, i) => ({ ...(id ? { templateId: id } : {}), name: `Course ${i}`, templateType: 'base' }));
        const derive = (index: number) => batchItemTemplateId('acme', batchId, index);
        const plan = validateBatchPlan(withCreateItemIds({ operation: 'create', items }, derive), limits);
        const again = validateBatchPlan(withCreateItemIds({ operation: 'create', items }, derive), limits);
        expect(plan.items.map((item) => item.templateId)).toEqual(again.items.map((item) => item.templateId));
        expect(new Set(plan.items.map((item) => item.templateId)).size).toBe(items.length);
        plan.items.forEach((item, i) => expect(item.templateId).toBe(given[i] ?? derive(i)));
      }),
    );
    expect(batchItemTemplateId('acme', randomUUID(), 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('another batch or another tenant gets other ids', () => {
    const batchId = randomUUID();
    expect(batchItemTemplateId('acme', batchId, 0)).not.toBe(batchItemTemplateId('acme', randomUUID(), 0));
    expect(batchItemTemplateId('acme', batchId, 0)).not.toBe(batchItemTemplateId('globex', batchId, 0));
  });

  it('leaves every other operation needing its templateId (400 naming the item)', () => {
    const input = withCreateItemIds({ operation: 'archive', items: [{ expectedRevision: 1 }] }, () => randomUUID());
    expect(refusal(() => validateBatchPlan(input, limits))).toMatchObject({ rule: 'batch.item.shape', field: 'items.0.templateId' });
  });
});
