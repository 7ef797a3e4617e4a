// Recomputing inherited content: the effective template of every template whose content or parent changed
// and of all their descendants.
//
// Tenancy of inheritance (#7.1): a child receives its parent's effective content only while the parent is
// visible to the child's tenant (isVisibleTo). `inherited` keeps what the child last received; when the
// parent stops being visible (made private by another tenant), `inherited` stays as it was at that moment,
// the child's effective content folds its own content onto it and `parent_unavailable` is set. Nothing
// written to the parent afterwards reaches the child; the child's own changes still apply. The projector
// cuts its batches before every event that can hide a template (splitBeforeHiding), so "that moment" is
// exact whatever the batches. The as-of fold (template-as-of.ts) applies the same rule.
import type { Kysely } from 'kysely';
import { inheritEffective, isVisibleTo, type EffectiveTemplate } from '../../domain/templates/index.js';
import type { TemplateFamilyEvent } from './template-projection-events.js';
import { loadStoredDescendantIds, loadTemplateRows } from './template-persistence.js';
import type { TemplateRow, TemplateTables } from './template-tables.js';

export const rowVisibleTo = (row: TemplateRow, tenantId: string) =>
  isVisibleTo({ ownerTenantId: row.tenant_id, isPublic: row.is_public, isSystemTemplate: row.is_system }, tenantId);

/** An event after which some tenant may no longer see its template: it sets isPublic to false. */
function mayHideTemplate({ stream, event }: TemplateFamilyEvent): boolean {
  if (stream !== 'template') return false;
  if (event.type === 'TemplateUpdated') return event.data.changes.isPublic === false;
  if (event.type === 'TemplateVersionRestored') return event.data.content.isPublic === false;
  return false;
}

/**
 * A batch cut before each event that may hide a template, so that the children of that template are
 * refreshed with what they could see up to that moment, and the event's own changes (and any later ones)
 * never reach them. Each part is folded and refreshed in turn.
 */
export function splitBeforeHiding<E extends TemplateFamilyEvent>(events: readonly E[]): E[][] {
  const parts: E[][] = [[]];
  for (const event of events) {
    if (mayHideTemplate(event) && parts.at(-1)!.length > 0) parts.push([]);
    parts.at(-1)!.push(event);
  }
  return parts;
}

/** `affected` grown by every template that `rows` links below one of them (created or re-parented in
 * this batch, so not yet in the table the descendants query reads), in the order of `rows`. */
export function withLinkedDescendants(affected: ReadonlySet<string>, rows: ReadonlyMap<string, TemplateRow>): Set<string> {
  const grown = new Set(affected);
  for (let grew = true; grew;) {
    grew = false;
    for (const [id, row] of rows) {
      if (!grown.has(id) && row.parent_template_id && grown.has(row.parent_template_id)) {
        grown.add(id);
        grew = true;
      }
    }
  }
  return grown;
}

/**
 * The new rows of the `affected` templates (those `rows` holds): each one's own content folded onto its
 * parent's effective content, or onto `inherited` when the parent is not visible to its tenant. A parent
 * outside `affected` keeps the effective content it has in `rows`. The command side refuses cycles, but
 * two concurrent re-parentings could still close one; a template met again on the way up ends the chain
 * there, so this never loops. The order of `affected` is the order of the walk.
 */
export function recomputeEffective(rows: ReadonlyMap<string, TemplateRow>, affected: ReadonlySet<string>): Map<string, TemplateRow> {
  const recomputed = new Map<string, TemplateRow>();
  const walking = new Set<string>();
  const effectiveOf = (id: string): EffectiveTemplate | undefined => {
    const row = recomputed.get(id) ?? rows.get(id);
    if (!row || walking.has(id)) return undefined;
    if (!affected.has(id) || recomputed.has(id)) return row.effective;
    walking.add(id);
    const parent = row.parent_template_id ? (recomputed.get(row.parent_template_id) ?? rows.get(row.parent_template_id)) : undefined;
    let inherited: EffectiveTemplate | null = null;
    let unavailable = false;
    if (parent && rowVisibleTo(parent, row.tenant_id)) inherited = effectiveOf(parent.template_id) ?? null;
    else if (parent) {
      inherited = row.inherited;
      unavailable = true;
    }
    walking.delete(id);
    const effective = inheritEffective(inherited, row.content);
    recomputed.set(id, {
      ...row,
      effective,
      inherited,
      parent_unavailable: unavailable,
      skill_level: effective.defaultSkillLevel,
      price_minor: effective.defaultPrice?.amountMinor ?? null,
      currency: effective.defaultPrice?.currency ?? null,
      duration: effective.defaultDuration,
    });
    return effective;
  };
  for (const id of affected) effectiveOf(id);
  return recomputed;
}

/**
 * Recomputes the effective template of `roots` and all their descendants into `rows`, marking each one
 * `dirty`. `storedRoots` are the roots already in the table before this batch: only below them can the
 * table hold descendants (a parent exists before any child names it), so a batch of creations, like most
 * of a rebuild, needs no descendants query.
 */
export async function refreshEffective(
  db: Kysely<TemplateTables>,
  roots: ReadonlySet<string>,
  storedRoots: readonly string[],
  rows: Map<string, TemplateRow>,
  dirty: Set<string>,
): Promise<void> {
  if (roots.size === 0) return;
  const descendants = storedRoots.length === 0 ? [] : await loadStoredDescendantIds(db, storedRoots);
  const stored = new Set([...roots, ...descendants]);
  await loadTemplateRows(db, [...stored], rows);
  const affected = withLinkedDescendants(stored, rows);
  // Parents outside the affected set keep their stored effective content: one level is enough.
  await loadTemplateRows(
    db,
    [...new Set([...affected].map((id) => rows.get(id)?.parent_template_id).filter((id): id is string => !!id))],
    rows,
  );
  for (const [id, row] of recomputeEffective(rows, affected)) {
    rows.set(id, row);
    dirty.add(id);
  }
}
