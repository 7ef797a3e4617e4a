// Folding events into rows, without a database: given the stored rows of the templates a batch is about
// and the batch's typed events, the rows after it and everything else it adds (versions, audit entries,
// favorite changes, usage counts). The effective (inherited) columns are not set here: which templates
// need them again is in `reshaped`, and effective-templates.ts recomputes them over the subtree.
import type {
  TemplateContent,
  TemplateEvent,
  TemplateFavoriteEvent,
  TemplateTag,
  TemplateUsageEvent,
} from '../../domain/templates/index.js';
import { inheritEffective, searchWords, tagKey } from '../../domain/templates/index.js';
import type { EventContext, TemplateFamilyEvent, TemplateOwnEvent } from './template-projection-events.js';
import {
  DELETED_STATUS,
  type FavoriteRow,
  type HistoryRow,
  type TemplateRow,
  type UsageDayRow,
  type VersionRow,
} from './template-tables.js';

/** The last favorite event of a batch for one (tenant, user, template). */
export interface FavoriteChange {
  readonly row: FavoriteRow;
  readonly favorited: boolean;
  /** An unfavorite came earlier in the batch (or is the last one): the stored favorite, if any, goes. */
  readonly removedInBatch: boolean;
}

export interface TemplateFold {
  /** Every row the fold knows after the batch: the stored ones it was given, changed or not, and new ones. */
  readonly rows: Map<string, TemplateRow>;
  /** Rows the batch changed (to be written). */
  readonly dirty: Set<string>;
  /** Templates whose own content or parent changed: their subtree needs a new effective template. */
  readonly reshaped: Set<string>;
  readonly versions: VersionRow[];
  readonly history: HistoryRow[];
  /** Per (tenant, user, template), in the order of each key's first event. */
  readonly favorites: Map<string, FavoriteChange>;
  /** Per (template, tenant, day, usage type): this batch's counts, added to the stored ones. */
  readonly usage: Map<string, UsageDayRow>;
}

/** The templates a batch is about: the rows the fold needs. */
export const templateIdsOf = (events: readonly TemplateFamilyEvent[]): string[] => [...new Set(events.map((event) => event.templateId))];

/** The keyword search's document: the words of name, description and tags, space-separated (searchWords). */
export function searchText(content: Pick<TemplateContent, 'name' | 'description' | 'tags'>): string {
  const tags = content.tags.map((tag) => `${tag.name} ${tag.value}`).join(' ');
  return searchWords([content.name, content.description ?? '', tags].join(' ')).join(' ');
}

/** Row columns that mirror the own content (the effective columns are set by effective-templates.ts). */
function withContent(row: TemplateRow, content: TemplateContent): TemplateRow {
  return {
    ...row,
    content,
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

function createdRow(
  templateId: string,
  event: Extract<TemplateEvent, { type: 'TemplateCreated' }>,
  revision: number,
  { at, userId }: EventContext,
): TemplateRow {
  const { templateId: _id, ownerTenantId, parentTemplateId, isSystemTemplate, status, version, ...content } = event.data;
  const empty: TemplateRow = {
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
    content,
    // Its own content alone, until effective-templates.ts folds it onto what the parent gives it.
    effective: inheritEffective(null, content),
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
    created_by: userId,
    updated_by: userId,
  };
  return withContent(empty, content);
}

/** The row after one of its template's own events; the same row for an event that changes nothing. */
function foldTemplateEvent(fold: TemplateFold, row: TemplateRow | undefined, item: TemplateOwnEvent): TemplateRow | undefined {
  const { templateId, revision, context, event } = item;
  const audit = () =>
    fold.history.push({
      template_id: templateId,
      revision,
      event_type: event.type,
      changes: item.recordedData,
      tenant_id: context.tenantId,
      user_id: context.userId,
      correlation_id: context.correlationId,
      occurred_at: context.at,
    });
  const versioned = (next: TemplateRow) => {
    fold.versions.push({
      template_id: templateId,
      version: next.version,
      content: next.content,
      parent_template_id: next.parent_template_id,
      event_type: event.type,
      changed_by: context.userId,
      changed_at: context.at,
    });
    fold.reshaped.add(templateId);
    return next;
  };

  if (event.type === 'TemplateCreated') {
    audit();
    return versioned(createdRow(templateId, event, revision, context));
  }
  if (!row) return row; // an event for a template this model never saw created: nothing to attach it to
  const touched = (next: Partial<TemplateRow>): TemplateRow => ({
    ...row,
    ...next,
    revision,
    updated_at: context.at,
    updated_by: context.userId,
  });
  const withOwnContent = (content: TemplateContent, version: number) => touched({ ...withContent(row, content), version });
  switch (event.type) {
    case 'TemplateUpdated':
      audit();
      return versioned(withOwnContent({ ...row.content, ...event.data.changes }, event.data.version));
    case 'TemplateParentChanged':
      audit();
      // What the child received from its old parent says nothing about the new one.
      return versioned(
        touched({
          parent_template_id: event.data.parentTemplateId,
          inherited: null,
          parent_unavailable: false,
          version: event.data.version,
        }),
      );
    case 'TemplateVersionRestored':
      audit();
      return versioned(withOwnContent(event.data.content, event.data.version));
    case 'TemplateTagsAdded':
      audit();
      return versioned(withOwnContent({ ...row.content, tags: mergeTags(row.content.tags, event.data.tags) }, event.data.version));
    case 'TemplateTagsRemoved': {
      audit();
      const removed = new Set(event.data.tags.map(tagKey));
      return versioned(
        withOwnContent({ ...row.content, tags: row.content.tags.filter((tag) => !removed.has(tagKey(tag))) }, event.data.version),
      );
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
    case 'TemplateDeleted':
      // Soft: the row stays for history and for its archived children's inheritance; every read skips it.
      audit();
      return touched({ status: DELETED_STATUS });
    case 'TemplateUndeleted':
      audit();
      return touched({ status: event.data.status });
    default:
      return row;
  }
}

/** The last event per user wins, in event order (#7.12: favorite, unfavorite, favorite is favorited). */
function foldFavorite(fold: TemplateFold, templateId: string, event: TemplateFavoriteEvent, { at, tenantId }: EventContext): void {
  const { userId } = event.data;
  const key = JSON.stringify([tenantId, userId, templateId]);
  const favorited = event.type === 'TemplateFavorited';
  const removedInBatch = (fold.favorites.get(key)?.removedInBatch ?? false) || !favorited;
  fold.favorites.set(key, {
    row: { template_id: templateId, tenant_id: tenantId, user_id: userId, created_at: at },
    favorited,
    removedInBatch,
  });
}

/** A usage counts on its template's row and on its day; it never moves the template's revision. */
function foldUsage(
  fold: TemplateFold,
  templateId: string,
  row: TemplateRow,
  event: TemplateUsageEvent,
  { at, tenantId }: EventContext,
): TemplateRow {
  const { usageType, outcome } = event.data;
  const success = outcome === 'success';
  const day = at.toISOString().slice(0, 10);
  const key = `${templateId}|${tenantId}|${day}|${usageType}`;
  const entry = fold.usage.get(key) ?? {
    template_id: templateId,
    tenant_id: tenantId,
    day,
    usage_type: usageType,
    success_count: 0,
    error_count: 0,
  };
  fold.usage.set(key, success ? { ...entry, success_count: entry.success_count + 1 } : { ...entry, error_count: entry.error_count + 1 });
  return {
    ...row,
    usage_count: row.usage_count + 1,
    success_count: row.success_count + (success ? 1 : 0),
    last_used_at: row.last_used_at && row.last_used_at > at ? row.last_used_at : at,
  };
}

/**
 * Folds a batch onto the stored rows of the templates it is about (`templateIdsOf`); `stored` is left as
 * it is. Each template's own events apply in order, those already in its row (by revision) are skipped so
 * that a replayed batch changes nothing; favorites and usages come after all of them, so that a template
 * they name that was created in the same batch exists by then.
 */
export function foldTemplateEvents(stored: ReadonlyMap<string, TemplateRow>, events: readonly TemplateFamilyEvent[]): TemplateFold {
  const fold: TemplateFold = {
    rows: new Map(stored),
    dirty: new Set(),
    reshaped: new Set(),
    versions: [],
    history: [],
    favorites: new Map(),
    usage: new Map(),
  };
  const byTemplate = new Map<string, TemplateOwnEvent[]>();
  for (const item of events) {
    if (item.stream !== 'template') continue;
    const list = byTemplate.get(item.templateId);
    if (list) list.push(item);
    else byTemplate.set(item.templateId, [item]);
  }
  for (const [templateId, items] of byTemplate) {
    let row = fold.rows.get(templateId);
    for (const item of items) {
      if (row && item.revision <= row.revision) continue;
      row = foldTemplateEvent(fold, row, item);
    }
    if (row && row !== fold.rows.get(templateId)) {
      fold.rows.set(templateId, row);
      fold.dirty.add(templateId);
    }
  }
  for (const item of events) {
    if (item.stream === 'template') continue;
    const row = fold.rows.get(item.templateId);
    if (!row) continue;
    if (item.stream === 'favorite') foldFavorite(fold, item.templateId, item.event, item.context);
    else fold.rows.set(item.templateId, foldUsage(fold, item.templateId, row, item.event, item.context));
    fold.dirty.add(item.templateId);
  }
  return fold;
}
