// The effective (inherited) template of each row, recomputed by the template projector for every template
// whose content or parent changed and for all of their descendants.
//
// Tenancy of inheritance: a child receives its parent's effective content only while the parent is
// visible to the child's tenant (isVisibleTo). `inherited` keeps what the child last received; when the
// parent stops being visible (made private by another tenant), `inherited` stays as it was at that moment,
// the child's effective content folds its own content onto it and `parent_unavailable` is set. Nothing
// written to the parent afterwards reaches the child; the child's own changes still apply. The projector
// cuts its batches before every event that can hide a template, so "that moment" is exact whatever the
// batches. The as-of fold (template-as-of.ts) applies the same rule.
import { sql, type Kysely } from 'kysely';
import type { JsonObject } from '../../domain/json.js';
import { inheritEffective, isVisibleTo, type EffectiveTemplate, type TemplateContent } from '../../domain/templates/index.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import type { TemplateRow, TemplateTables } from './template-tables.js';

const contentOf = (row: TemplateRow) => row.content as unknown as TemplateContent;
export const rowVisibleTo = (row: TemplateRow, tenantId: string) => isVisibleTo({ ownerTenantId: row.tenant_id, isPublic: row.is_public, isSystemTemplate: row.is_system }, tenantId);

export async function loadRows(db: Kysely<TemplateTables>, ids: readonly string[], into: Map<string, TemplateRow>): Promise<void> {
  const missing = ids.filter((id) => !into.has(id));
  const rows = [];
  for (const chunk of chunked(missing, rowsPerStatement(1))) rows.push(...(await db.selectFrom('templates').selectAll().where('template_id', 'in', chunk).execute()));
  for (const row of rows) into.set(row.template_id, { ...row, revision: Number(row.revision), price_minor: row.price_minor === null ? null : Number(row.price_minor) });
}

/**
 * Recomputes the effective template of `roots` and all their descendants: each one's own content folded
 * onto its parent's effective content (the stored one for a parent this batch did not affect), or onto
 * `inherited` when the parent is not visible to its tenant. The command side refuses cycles, but two
 * concurrent re-parentings could still close one; a template met again on the way up ends the chain
 * there, so the projection never loops.
 */
export async function refreshEffective(
  db: Kysely<TemplateTables>,
  roots: Set<string>,
  storedRoots: readonly string[],
  rows: Map<string, TemplateRow>,
  dirty: Set<string>,
): Promise<void> {
  if (roots.size === 0) return;
  // Stored descendants exist only below templates that were stored before this batch (a parent exists
  // before any child names it), so a batch of creations, like most of a rebuild, needs no query here.
  // The query builder (not raw SQL) so that the transaction's withSchema reaches the table names and a
  // rebuild reads its own tables; the CTE name is left alone by it.
  const descendants = storedRoots.length === 0 ? [] : await db
    .withRecursive('tree(template_id, depth)', (qb) =>
      qb
        .selectFrom('templates')
        .select(['template_id', sql<number>`0`.as('depth')])
        .where('template_id', 'in', [...storedRoots])
        .union((u) =>
          u
            .selectFrom('templates as c')
            .innerJoin('tree', 'tree.template_id', 'c.parent_template_id')
            .select(['c.template_id', sql<number>`tree.depth + 1`.as('depth')])
            .where('tree.depth', '<', 64),
        ),
    )
    .selectFrom('tree')
    .select('template_id')
    .distinct()
    .execute();
  const affected = new Set([...roots, ...descendants.map((row) => row.template_id)]);
  await loadRows(db, [...affected], rows);
  // Descendants that only this batch knows (created or re-parented in it), by the links in memory.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, row] of rows) {
      if (!affected.has(id) && row.parent_template_id && affected.has(row.parent_template_id)) {
        affected.add(id);
        grew = true;
      }
    }
  }
  // Parents outside the affected set keep their stored effective content: one level is enough.
  await loadRows(db, [...new Set([...affected].map((id) => rows.get(id)?.parent_template_id).filter((id): id is string => !!id))], rows);

  const done = new Set<string>();
  const walking = new Set<string>();
  const effectiveOf = (id: string): JsonObject | undefined => {
    const row = rows.get(id);
    if (!row || walking.has(id)) return undefined;
    if (!affected.has(id) || done.has(id)) return row.effective;
    walking.add(id);
    const parent = row.parent_template_id ? rows.get(row.parent_template_id) : undefined;
    let inherited: JsonObject | null = null;
    let unavailable = false;
    if (parent && rowVisibleTo(parent, row.tenant_id)) inherited = effectiveOf(parent.template_id) ?? null;
    else if (parent) {
      inherited = row.inherited;
      unavailable = true;
    }
    walking.delete(id);
    const effective = inheritEffective(inherited as unknown as EffectiveTemplate | null, contentOf(row));
    rows.set(id, {
      ...row,
      effective: effective as unknown as JsonObject,
      inherited,
      parent_unavailable: unavailable,
      skill_level: effective.defaultSkillLevel,
      price_minor: effective.defaultPrice?.amountMinor ?? null,
      currency: effective.defaultPrice?.currency ?? null,
      duration: effective.defaultDuration,
    });
    done.add(id);
    dirty.add(id);
    return effective as unknown as JsonObject;
  };
  for (const id of affected) effectiveOf(id);
}
