// Projects template events into rm_templates: the search row, favorites, usage by day, versions and the
// audit trail. A batch is folded in memory per template (one read of the touched rows, one upsert), then
// the effective template is recomputed for every template whose content or parent changed and for all of
// their descendants, so a parent's change reaches the whole subtree in the same transaction.
import { sql, type Kysely } from 'kysely';
import type { JsonObject, RecordedEvent } from '../../domain/event-store.js';
import type { TemplateContent, TemplateEvent, TemplateTag } from '../../domain/templates/index.js';
import { effectiveTemplate, tagKey } from '../../domain/templates/index.js';
import type { Projector } from '../projector.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import { createTemplateSchema } from './template-schema.js';
import type { FavoriteRow, HistoryRow, TemplateRow, TemplateTables, UsageDayRow, VersionRow } from './template-tables.js';

const UUID_PATTERN = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const TEMPLATE_STREAM = new RegExp(`^template-${UUID_PATTERN}$`, 'i');
const USAGE_STREAM = new RegExp(`^templateusage-${UUID_PATTERN}$`, 'i');
const UUID = new RegExp(`^${UUID_PATTERN}$`, 'i');
export const templateIdOfStream = (streamId: string) => TEMPLATE_STREAM.exec(streamId)?.[1]?.toLowerCase();

/** The template a side event (favorite, usage) is about. */
function sideTemplateId(event: RecordedEvent): string | undefined {
  const fromStream = USAGE_STREAM.exec(event.streamId)?.[1];
  const id = fromStream ?? (event.streamId.startsWith('templatefavorite-') ? String(event.data.templateId ?? '') : undefined);
  return id !== undefined && UUID.test(id) ? id.toLowerCase() : undefined;
}

/** What a committed batch touched, for cache invalidation. */
export interface TemplateBatchEffect {
  readonly templateIds: readonly string[];
  /** Owners of touched templates; `*` when a public or system template changed (every tenant sees it). */
  readonly tenantIds: readonly string[];
}

interface Changes {
  rows: Map<string, TemplateRow>;
  dirty: Set<string>;
  /** Templates whose own content or parent changed: their subtree needs a new effective template. */
  reshaped: Set<string>;
  versions: VersionRow[];
  history: HistoryRow[];
  favoritesAdded: FavoriteRow[];
  favoritesRemoved: Pick<FavoriteRow, 'template_id' | 'tenant_id' | 'user_id'>[];
  usage: Map<string, UsageDayRow>;
}

const contentOf = (row: TemplateRow) => row.content as unknown as TemplateContent;

function searchText(content: TemplateContent): string {
  const tags = content.tags.map((tag) => `${tag.name} ${tag.value}`).join(' ');
  return [content.name, content.description ?? '', tags].join(' ');
}

/** Row columns that mirror the own content (the effective columns are set by `refreshEffective`). */
function withContent(row: TemplateRow, content: TemplateContent): TemplateRow {
  return {
    ...row,
    content: content as unknown as JsonObject,
    name: content.name,
    description: content.description,
    category_id: content.categoryId,
    template_type: content.templateType,
    is_public: content.isPublic,
    tag_keys: content.tags.map(tagKey),
    search_text: searchText(content),
  };
}

function mergeTags(existing: readonly TemplateTag[], added: readonly TemplateTag[]): TemplateTag[] {
  const byKey = new Map(existing.map((tag) => [tagKey(tag), tag]));
  for (const tag of added) byKey.set(tagKey(tag), tag);
  return [...byKey.values()];
}

function applyEvent(changes: Changes, templateId: string, row: TemplateRow | undefined, event: RecordedEvent): TemplateRow | undefined {
  const e = { type: event.type, data: event.data } as TemplateEvent;
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const by = String(event.metadata.userId ?? '');
  const tenant = String(event.metadata.tenantId ?? '');
  const revision = Number(event.revision);
  const audit = () =>
    changes.history.push({
      template_id: templateId,
      revision,
      event_type: e.type,
      changes: e.data as unknown as JsonObject,
      tenant_id: tenant,
      user_id: by,
      correlation_id: event.metadata.correlationId === undefined ? null : String(event.metadata.correlationId),
      occurred_at: at,
    });
  const versioned = (next: TemplateRow) => {
    changes.versions.push({
      template_id: templateId,
      version: next.version,
      content: next.content,
      parent_template_id: next.parent_template_id,
      event_type: e.type,
      changed_by: by,
      changed_at: at,
    });
    changes.reshaped.add(templateId);
    return next;
  };
  const touched = (next: Partial<TemplateRow>): TemplateRow => ({ ...row!, ...next, revision, updated_at: at, updated_by: by });

  if (e.type === 'TemplateCreated') {
    const { templateId: _id, ownerTenantId, parentTemplateId, isSystemTemplate, status, version, ...content } = e.data;
    const created = withContent(
      {
        template_id: templateId,
        tenant_id: ownerTenantId,
        is_public: content.isPublic,
        is_system: isSystemTemplate,
        name: '',
        description: null,
        category_id: null,
        template_type: content.templateType,
        status,
        parent_template_id: parentTemplateId,
        content: {},
        effective: {},
        skill_level: null,
        price_minor: null,
        currency: null,
        duration: null,
        tag_keys: [],
        search_text: '',
        version,
        revision,
        usage_count: 0,
        success_count: 0,
        last_used_at: null,
        favorites_count: 0,
        created_at: at,
        updated_at: at,
        created_by: by,
        updated_by: by,
      },
      content,
    );
    audit();
    return versioned(created);
  }
  if (!row) return row; // an event for a template this model never saw created: nothing to attach it to
  switch (e.type) {
    case 'TemplateUpdated':
      audit();
      return versioned(touched({ ...withContent(row, { ...contentOf(row), ...e.data.changes }), version: e.data.version }));
    case 'TemplateParentChanged':
      audit();
      return versioned(touched({ parent_template_id: e.data.parentTemplateId, version: e.data.version }));
    case 'TemplateVersionRestored':
      audit();
      return versioned(touched({ ...withContent(row, e.data.content), version: e.data.version }));
    case 'TemplateTagsAdded':
      audit();
      return versioned(touched({ ...withContent(row, { ...contentOf(row), tags: mergeTags(contentOf(row).tags, e.data.tags) }), version: e.data.version }));
    case 'TemplateTagsRemoved': {
      audit();
      const removed = new Set(e.data.tags.map(tagKey));
      const tags = contentOf(row).tags.filter((tag) => !removed.has(tagKey(tag)));
      return versioned(touched({ ...withContent(row, { ...contentOf(row), tags }), version: e.data.version }));
    }
    case 'TemplateActivated':
      audit();
      return touched({ status: 'active' });
    case 'TemplateArchived':
      audit();
      return touched({ status: 'archived' });
    case 'TemplateDeprecated':
      audit();
      return touched({ status: 'deprecated' });
    case 'TemplateUnarchived':
      audit();
      return touched({ status: 'draft' });
    default:
      return row;
  }
}

/** A favorite or a usage, from the streams beside the template's: counters only, never its revision. */
function applySideEvent(changes: Changes, templateId: string, row: TemplateRow, event: RecordedEvent): TemplateRow {
  const at = new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));
  const tenant = String(event.metadata.tenantId ?? '');
  switch (event.type) {
    case 'TemplateFavorited':
      changes.favoritesAdded.push({ template_id: templateId, tenant_id: tenant, user_id: String(event.data.userId), created_at: at });
      return row;
    case 'TemplateUnfavorited':
      changes.favoritesRemoved.push({ template_id: templateId, tenant_id: tenant, user_id: String(event.data.userId) });
      return row;
    case 'TemplateUsageRecorded': {
      const usageType = String(event.data.usageType);
      const success = event.data.outcome === 'success';
      const day = at.toISOString().slice(0, 10);
      const key = `${templateId}|${tenant}|${day}|${usageType}`;
      const entry = changes.usage.get(key) ?? { template_id: templateId, tenant_id: tenant, day, usage_type: usageType, success_count: 0, error_count: 0 };
      if (success) entry.success_count++;
      else entry.error_count++;
      changes.usage.set(key, entry);
      return {
        ...row,
        usage_count: row.usage_count + 1,
        success_count: row.success_count + (success ? 1 : 0),
        last_used_at: row.last_used_at && row.last_used_at > at ? row.last_used_at : at,
      };
    }
    default:
      return row;
  }
}

const NON_KEY_COLUMNS = [
  'tenant_id', 'is_public', 'is_system', 'name', 'description', 'category_id', 'template_type', 'status', 'parent_template_id', 'content',
  'effective', 'skill_level', 'price_minor', 'currency', 'duration', 'tag_keys', 'search_text', 'version', 'revision', 'usage_count',
  'success_count', 'last_used_at', 'favorites_count', 'updated_at', 'updated_by',
] as const satisfies readonly (keyof TemplateRow)[];

/** jsonb columns go to pg as JSON text; kysely would send a JS array/object as a Postgres array/record. */
function toDbRow(row: TemplateRow) {
  return { ...row, content: JSON.stringify(row.content), effective: JSON.stringify(row.effective) } as unknown as TemplateRow;
}

async function upsertTemplates(db: Kysely<TemplateTables>, rows: TemplateRow[]): Promise<void> {
  for (const chunk of chunked(rows, rowsPerStatement(NON_KEY_COLUMNS.length + 3))) {
    await db
      .insertInto('templates')
      .values(chunk.map(toDbRow))
      .onConflict((oc) =>
        oc.column('template_id').doUpdateSet(Object.fromEntries(NON_KEY_COLUMNS.map((column) => [column, sql.ref(`excluded.${column}`)])) as never),
      )
      .execute();
  }
}

async function loadRows(db: Kysely<TemplateTables>, ids: readonly string[], into: Map<string, TemplateRow>): Promise<void> {
  const missing = ids.filter((id) => !into.has(id));
  const rows = [];
  for (const chunk of chunked(missing, rowsPerStatement(1))) rows.push(...(await db.selectFrom('templates').selectAll().where('template_id', 'in', chunk).execute()));
  for (const row of rows) into.set(row.template_id, { ...row, revision: Number(row.revision), price_minor: row.price_minor === null ? null : Number(row.price_minor) });
}

/**
 * Recomputes the effective template of `roots` and all their descendants. Chains are walked upwards
 * through `rows` (loading missing ancestors a level at a time) and folded from the root. The command side
 * refuses cycles, but two concurrent re-parentings could still close one; the walk stops at a repeated
 * template, so the projection never loops.
 */
async function refreshEffective(
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
  // Load ancestors level by level until every chain reaches a root or a template this model lacks.
  // A parent already in memory (touched by this batch) still needs its own ancestors walked.
  const walked = new Set<string>();
  for (let frontier = [...affected]; frontier.length > 0; ) {
    for (const id of frontier) walked.add(id);
    const parents = [...new Set(frontier.map((id) => rows.get(id)?.parent_template_id).filter((id): id is string => !!id && !walked.has(id)))];
    await loadRows(db, parents, rows);
    frontier = parents.filter((id) => rows.has(id));
  }
  for (const id of affected) {
    const row = rows.get(id);
    if (!row) continue;
    const chain: TemplateContent[] = [];
    const seen = new Set<string>();
    for (let current: TemplateRow | undefined = row; current && !seen.has(current.template_id); current = current.parent_template_id ? rows.get(current.parent_template_id) : undefined) {
      seen.add(current.template_id);
      chain.unshift(contentOf(current));
    }
    const effective = effectiveTemplate(chain);
    rows.set(id, {
      ...row,
      effective: effective as unknown as JsonObject,
      skill_level: effective.defaultSkillLevel,
      price_minor: effective.defaultPrice?.amountMinor ?? null,
      currency: effective.defaultPrice?.currency ?? null,
      duration: effective.defaultDuration,
    });
    dirty.add(id);
  }
}

export function templateProjector(options: { afterCommit?: (effect: TemplateBatchEffect) => Promise<void> } = {}): Projector {
  const effects = new WeakMap<readonly RecordedEvent[], TemplateBatchEffect>();
  return {
    name: 'templates',
    filter: { categories: ['template', 'templateusage', 'templatefavorite'] },
    createSchema: createTemplateSchema,

    async apply(anyDb, events) {
      const db = anyDb as Kysely<TemplateTables>;
      const byTemplate = new Map<string, RecordedEvent[]>();
      const side: { templateId: string; event: RecordedEvent }[] = [];
      for (const event of events) {
        const templateId = templateIdOfStream(event.streamId);
        if (templateId !== undefined) {
          const list = byTemplate.get(templateId);
          if (list) list.push(event);
          else byTemplate.set(templateId, [event]);
        } else {
          const sideId = sideTemplateId(event);
          if (sideId !== undefined) side.push({ templateId: sideId, event });
        }
      }
      if (byTemplate.size === 0 && side.length === 0) return;
      const changes: Changes = { rows: new Map(), dirty: new Set(), reshaped: new Set(), versions: [], history: [], favoritesAdded: [], favoritesRemoved: [], usage: new Map() };
      await loadRows(db, [...new Set([...byTemplate.keys(), ...side.map((s) => s.templateId)])], changes.rows);
      const stored = new Set(changes.rows.keys());
      const touchedTenants = new Set<string>();
      for (const [templateId, streamEvents] of byTemplate) {
        let row = changes.rows.get(templateId);
        for (const event of streamEvents) {
          // Events already in the row are skipped: a replayed batch changes nothing.
          if (row && Number(event.revision) <= row.revision) continue;
          row = applyEvent(changes, templateId, row, event);
        }
        if (row && row !== changes.rows.get(templateId)) {
          changes.rows.set(templateId, row);
          changes.dirty.add(templateId);
          touchedTenants.add(row.is_public || row.is_system ? '*' : row.tenant_id);
        }
      }
      // Favorites and usages after the templates' own events: a template they name exists by then.
      for (const { templateId, event } of side) {
        const row = changes.rows.get(templateId);
        if (!row) continue;
        changes.rows.set(templateId, applySideEvent(changes, templateId, row, event));
        changes.dirty.add(templateId);
        touchedTenants.add(row.is_public || row.is_system ? '*' : row.tenant_id);
      }
      const storedRoots = [...changes.reshaped].filter((id) => stored.has(id));
      // The recursive query reads parent links from the table: store this batch's first when it runs.
      if (storedRoots.length > 0) await upsertTemplates(db, [...changes.dirty].map((id) => changes.rows.get(id)!));
      await refreshEffective(db, changes.reshaped, storedRoots, changes.rows, changes.dirty);
      await upsertTemplates(db, [...changes.dirty].map((id) => changes.rows.get(id)!));
      for (const id of changes.dirty) {
        const row = changes.rows.get(id)!;
        touchedTenants.add(row.is_public || row.is_system ? '*' : row.tenant_id);
      }

      if (changes.versions.length > 0) {
        for (const chunk of chunked(changes.versions, rowsPerStatement(7))) {
          await db.insertInto('versions').values(chunk.map((v) => ({ ...v, content: JSON.stringify(v.content) as unknown as JsonObject }))).onConflict((oc) => oc.doNothing()).execute();
        }
      }
      if (changes.history.length > 0) {
        for (const chunk of chunked(changes.history, rowsPerStatement(8))) {
          await db.insertInto('history').values(chunk.map((h) => ({ ...h, changes: JSON.stringify(h.changes) as unknown as JsonObject }))).onConflict((oc) => oc.doNothing()).execute();
        }
      }
      for (const favorite of changes.favoritesAdded) {
        await db.insertInto('favorites').values(favorite).onConflict((oc) => oc.doNothing()).execute();
      }
      for (const favorite of changes.favoritesRemoved) {
        await db.deleteFrom('favorites').where('tenant_id', '=', favorite.tenant_id).where('user_id', '=', favorite.user_id).where('template_id', '=', favorite.template_id).execute();
      }
      const favorited = new Set([...changes.favoritesAdded, ...changes.favoritesRemoved].map((f) => f.template_id));
      // Counted from the table, so a favorite repeated or removed twice can never skew the count.
      for (const chunk of chunked([...favorited], rowsPerStatement(1))) {
        await db
          .updateTable('templates')
          .set((eb) => ({ favorites_count: eb.selectFrom('favorites').select((f) => f.fn.countAll<number>().as('n')).whereRef('favorites.template_id', '=', 'templates.template_id') }))
          .where('template_id', 'in', chunk)
          .execute();
      }
      for (const chunk of chunked([...changes.usage.values()], rowsPerStatement(6))) {
        await db
          .insertInto('usage_days')
          .values(chunk)
          .onConflict((oc) =>
            oc.columns(['template_id', 'tenant_id', 'day', 'usage_type']).doUpdateSet({
              success_count: sql`usage_days.success_count + excluded.success_count`,
              error_count: sql`usage_days.error_count + excluded.error_count`,
            }),
          )
          .execute();
      }
      effects.set(events, { templateIds: [...new Set([...byTemplate.keys(), ...changes.dirty])], tenantIds: [...touchedTenants] });
    },

    async afterCommit(events) {
      const effect = effects.get(events);
      if (effect && options.afterCommit) await options.afterCommit(effect);
    },
  };
}
