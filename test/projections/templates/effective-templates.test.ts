// Recomputing inherited content without a database: the parent's effective content flows while its
// tenant may see it, is frozen once it may not (#7.1), and batches are cut before what can hide a template.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/domain/json.js';
import type { TemplateContent, TemplateEvent } from '../../../src/domain/templates/index.js';
import { recomputeEffective, splitBeforeHiding, withLinkedDescendants } from '../../../src/projections/templates/effective-templates.js';
import { foldTemplateEvents } from '../../../src/projections/templates/template-fold.js';
import type { TemplateFamilyEvent } from '../../../src/projections/templates/template-projection-events.js';
import type { TemplateRow } from '../../../src/projections/templates/template-tables.js';
import { templateContent } from '../../support/template-content.js';

const content = (dynamicProperties: JsonObject, isPublic = false): TemplateContent => templateContent({ dynamicProperties, isPublic });

const at = { at: new Date('2026-11-01T00:00:00Z'), tenantId: 'a', userId: 'u', correlationId: null };
const own = (templateId: string, revision: number, event: TemplateEvent): TemplateFamilyEvent => ({
  stream: 'template',
  templateId,
  revision,
  context: at,
  event,
  recordedData: {},
});
const created = (templateId: string, tenant: string, parent: string | null, c: TemplateContent) =>
  own(templateId, 0, {
    type: 'TemplateCreated',
    data: { ...c, templateId, ownerTenantId: tenant, parentTemplateId: parent, isSystemTemplate: false, status: 'draft', version: 1 },
  });

/** Rows of a parent (tenant a), its child (tenant b) and grandchild (tenant b), effective templates computed. */
function family(parentIsPublic: boolean) {
  const [parent, child, grandchild] = [randomUUID(), randomUUID(), randomUUID()];
  const { rows } = foldTemplateEvents(new Map(), [
    created(parent, 'a', null, content({ greeting: 'hello' }, parentIsPublic)),
    created(child, 'b', parent, content({ own: 1 })),
    created(grandchild, 'b', child, content({ deep: true })),
  ]);
  for (const [id, row] of recomputeEffective(rows, new Set(rows.keys()))) rows.set(id, row);
  return { parent, child, grandchild, rows };
}

describe('effective templates', () => {
  it('folds each template onto its visible parent, down the subtree', () => {
    const { child, grandchild, rows } = family(true);
    expect(rows.get(child)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'hello', own: 1 } },
      inherited: { dynamicProperties: { greeting: 'hello' } },
      parent_unavailable: false,
    });
    expect(rows.get(grandchild)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'hello', own: 1, deep: true } },
      parent_unavailable: false,
    });
  });

  it('#7.1 keeps what a child last received once its parent is hidden from its tenant, and flags it', () => {
    const { parent, child, grandchild, rows } = family(true);
    const hidden: TemplateRow = { ...rows.get(parent)!, is_public: false, content: content({ apiSecret: 's3cret' }) };
    rows.set(parent, hidden);
    const recomputed = recomputeEffective(rows, withLinkedDescendants(new Set([parent]), rows));
    expect(recomputed.get(parent)!.effective.dynamicProperties).toEqual({ apiSecret: 's3cret' });
    expect(recomputed.get(child)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'hello', own: 1 } },
      parent_unavailable: true,
    });
    // The grandchild's parent (same tenant) is visible: it follows the child's frozen content.
    expect(recomputed.get(grandchild)).toMatchObject({
      effective: { dynamicProperties: { greeting: 'hello', own: 1, deep: true } },
      parent_unavailable: false,
    });
  });

  it('#7.1 gives a child linked to a parent it never saw nothing of it', () => {
    const { child, rows } = family(false);
    expect(rows.get(child)).toMatchObject({ effective: { dynamicProperties: { own: 1 } }, inherited: null, parent_unavailable: true });
  });

  it('ends a chain that two concurrent re-parentings closed into a cycle', () => {
    const [x, y] = [randomUUID(), randomUUID()];
    const { rows } = foldTemplateEvents(new Map(), [created(x, 'a', y, content({ x: 1 })), created(y, 'a', x, content({ y: 1 }))]);
    const recomputed = recomputeEffective(rows, new Set([x, y]));
    expect(recomputed.get(y)!.effective.dynamicProperties).toEqual({ y: 1 });
    expect(recomputed.get(x)!.effective.dynamicProperties).toEqual({ x: 1, y: 1 });
  });

  it('cuts a batch before each event that makes a template private, and nowhere else', () => {
    const id = randomUUID();
    const update = (revision: number, isPublic: boolean) =>
      own(id, revision, { type: 'TemplateUpdated', data: { changes: { isPublic }, version: revision + 1 } });
    const restore = (revision: number, isPublic: boolean) =>
      own(id, revision, {
        type: 'TemplateVersionRestored',
        data: { restoredFrom: 1, version: revision + 1, content: content({}, isPublic) },
      });
    const events = [update(0, false), update(1, true), restore(2, false), restore(3, true), update(4, false)];
    expect(splitBeforeHiding(events).map((part) => part.map((event) => (event.stream === 'template' ? event.revision : -1)))).toEqual([
      [0, 1],
      [2, 3],
      [4],
    ]);
    expect(splitBeforeHiding([])).toEqual([[]]);
  });
});
