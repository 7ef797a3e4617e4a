// Projects template events into rm_templates: the search row, favorites, usage by day, versions and the
// audit trail. A batch is folded in memory per template (one read of the touched rows, one upsert), then
// the effective template is recomputed for every template whose content or parent changed and for all of
// their descendants, so a parent's change reaches the whole subtree in the same transaction (see
// effective-templates.ts, also for what a child inherits from a parent its tenant can no longer see).
import { sql, type Kysely } from 'kysely';
import type { JsonObject } from '../../domain/json.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { TemplateContent, TemplateEvent, TemplateTag } from '../../domain/templates/index.js';
import { isTemplateFavoriteStream, tagKey, TEMPLATE_FAMILY_CATEGORIES, templateIdOfStream, templateIdOfUsageStream } from '../../domain/templates/index.js';
import { isUuid } from '../../domain/uuid.js';
import type { Projector } from '../projector.js';
import { chunked, rowsPerStatement } from '../chunks.js';
import { loadRows, refreshEffective } from './effective-templates.js';
import { createTemplateSchema } from './template-schema.js';
import type { FavoriteRow, HistoryRow, TemplateRow, TemplateTables, UsageDayRow, VersionRow } from './template-tables.js';


/** The template a side event (favorite, usage) is about. */
function sideTemplateId(event: RecordedEvent): string | undefined {
  const fromStream = templateIdOfUsageStream(event.streamId);
  const id = fromStream ?? (isTemplateFavoriteStream(event.streamId) ? String(event.data.templateId ?? '') : undefined);
  return id !== undefined && isUuid(id) ? id.toLowerCase() : undefined;
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
  /** Per (tenant, user, template): the last favorite event of the batch, and whether one was removed. */
  favorites: Map<string, { row: FavoriteRow; favorited: boolean; removedInBatch: boolean }>;
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
        inherited: null,
        parent_unavailable: false,
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
      // What the child received from its old parent says nothing about the new one.
      return versioned(touched({ parent_template_id: e.data.parentTemplateId, inherited: null, parent_unavailable: false, version: e.data.version }));
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
    case 'TemplateUnfavorited': {
      // The last event per user wins, in event order (#7.12: favorite, unfavorite, favorite is favorited).
      const userId = String(event.data.userId);
      const key = JSON.stringify([tenant, userId, templateId]);
      const favorited = event.type === 'TemplateFavorited';
      const removedInBatch = (changes.favorites.get(key)?.removedInBatch ?? false) || !favorited;
      changes.favorites.set(key, { row: { template_id: templateId, tenant_id: tenant, user_id: userId, created_at: at }, favorited, removedInBatch });
      return row;
    }
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
  'effective', 'inherited', 'parent_unavailable', 'skill_level', 'price_minor', 'currency', 'duration', 'tag_keys', 'search_text', 'version', 'revision', 'usage_count',
  'success_count', 'last_used_at', 'favorites_count', 'updated_at', 'updated_by',
] as const satisfies readonly (keyof TemplateRow)[];

/** jsonb columns go to pg as JSON text; kysely would send a JS array/object as a Postgres array/record. */
function toDbRow(row: TemplateRow) {
  return { ...row, content: JSON.stringify(row.content), effective: JSON.stringify(row.effective), inherited: row.inherited === null ? null : JSON.stringify(row.inherited) } as unknown as TemplateRow;
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

const sharedOrOwner = (row: TemplateRow) => (row.is_public || row.is_system ? '*' : row.tenant_id);

/**
 * An event after which some tenant may no longer see its template (it sets isPublic to false). A batch is
 * cut before each one, so that the children of that template are refreshed with what they could see up to
 * that moment, and the event's own changes (and any later ones) never reach them (#7.1).
 */
function mayHideTemplate(event: RecordedEvent): boolean {
  if (templateIdOfStream(event.streamId) === undefined) return false;
  const data = event.data as { changes?: { isPublic?: unknown }; content?: { isPublic?: unknown } };
  if (event.type === 'TemplateUpdated') return data.changes?.isPublic === false;
  if (event.type === 'TemplateVersionRestored') return data.content?.isPublic === false;
  return false;
}

function segments(events: readonly RecordedEvent[]): RecordedEvent[][] {
  const result: RecordedEvent[][] = [[]];
  for (const event of events) {
    if (mayHideTemplate(event) && result.at(-1)!.length > 0) result.push([]);
    result.at(-1)!.push(event);
  }
  return result;
}

/** Applies one segment of a batch; returns what it touched. */
async function applySegment(db: Kysely<TemplateTables>, events: readonly RecordedEvent[]): Promise<TemplateBatchEffect | undefined> {
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
  if (byTemplate.size === 0 && side.length === 0) return undefined;
  const changes: Changes = { rows: new Map(), dirty: new Set(), reshaped: new Set(), versions: [], history: [], favorites: new Map(), usage: new Map() };
  await loadRows(db, [...new Set([...byTemplate.keys(), ...side.map((s) => s.templateId)])], changes.rows);
  const stored = new Set(changes.rows.keys());
  // Tenants that could see each stored template before this segment: a template that stops being public
  // must drop the cached pages of every tenant, not only its owner's (#7.2).
  const audienceBefore = new Map([...changes.rows].map(([id, row]) => [id, sharedOrOwner(row)]));
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
    }
  }
  // Favorites and usages after the templates' own events: a template they name exists by then.
  for (const { templateId, event } of side) {
    const row = changes.rows.get(templateId);
    if (!row) continue;
    changes.rows.set(templateId, applySideEvent(changes, templateId, row, event));
    changes.dirty.add(templateId);
  }
  const storedRoots = [...changes.reshaped].filter((id) => stored.has(id));
  // The recursive query reads parent links from the table: store this batch's first when it runs.
  if (storedRoots.length > 0) await upsertTemplates(db, [...changes.dirty].map((id) => changes.rows.get(id)!));
  await refreshEffective(db, changes.reshaped, storedRoots, changes.rows, changes.dirty);
  await upsertTemplates(db, [...changes.dirty].map((id) => changes.rows.get(id)!));
  for (const id of changes.dirty) {
    touchedTenants.add(sharedOrOwner(changes.rows.get(id)!));
    const before = audienceBefore.get(id);
    if (before !== undefined) touchedTenants.add(before);
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
  for (const { row, favorited, removedInBatch } of changes.favorites.values()) {
    const remove = () => db.deleteFrom('favorites').where('tenant_id', '=', row.tenant_id).where('user_id', '=', row.user_id).where('template_id', '=', row.template_id).execute();
    // Removed and favorited again in this batch: a new favorite (its time is the last one's).
    if (!favorited || removedInBatch) await remove();
    if (favorited) await db.insertInto('favorites').values(row).onConflict((oc) => oc.doNothing()).execute();
  }
  const favorited = new Set([...changes.favorites.values()].map((f) => f.row.template_id));
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
  return { templateIds: [...new Set([...byTemplate.keys(), ...changes.dirty])], tenantIds: [...touchedTenants] };
}

export interface TemplateProjectorOptions {
  /** After a batch committed: invalidate what it touched. */
  readonly afterCommit?: (effect: TemplateBatchEffect) => Promise<void>;
  /** After a rebuild swapped in new tables: every cached answer came from the old ones (#7.13). */
  readonly afterRebuild?: () => Promise<void>;
}

export function templateProjector(options: TemplateProjectorOptions = {}): Projector {
  const effects = new WeakMap<readonly RecordedEvent[], TemplateBatchEffect>();
  return {
    name: 'templates',
    filter: { categories: [...TEMPLATE_FAMILY_CATEGORIES] },
    createSchema: createTemplateSchema,

    async apply(anyDb, events) {
      const db = anyDb as Kysely<TemplateTables>;
      const templateIds = new Set<string>();
      const tenantIds = new Set<string>();
      for (const segment of segments(events)) {
        const effect = await applySegment(db, segment);
        effect?.templateIds.forEach((id) => templateIds.add(id));
        effect?.tenantIds.forEach((id) => tenantIds.add(id));
      }
      if (templateIds.size > 0 || tenantIds.size > 0) effects.set(events, { templateIds: [...templateIds], tenantIds: [...tenantIds] });
    },

    async afterCommit(events) {
      const effect = effects.get(events);
      if (effect && options.afterCommit) await options.afterCommit(effect);
    },

    ...(options.afterRebuild ? { afterRebuild: options.afterRebuild } : {}),
  };
}
