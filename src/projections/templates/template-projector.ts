// Projects template events into rm_templates: the search row, favorites, usage by day, versions and the
// audit trail. A batch is read into typed events (template-projection-events.ts), cut before every event
// that can hide a template (effective-templates.ts, #7.1), and each part is
//   1. folded onto the stored rows of the templates it is about, in memory (template-fold.ts),
//   2. given new effective templates for every template whose content or parent changed and for all of
//      their descendants, so a parent's change reaches the whole subtree in the same transaction
//      (effective-templates.ts),
//   3. written (template-persistence.ts).
import type { Kysely } from 'kysely';
import type { RecordedEvent } from '../../ports/event-store.js';
import { TEMPLATE_FAMILY_CATEGORIES, templateIdOfStream } from '../../domain/templates/index.js';
import type { Projector } from '../projector.js';
import { refreshEffective, splitBeforeHiding } from './effective-templates.js';
import { foldTemplateEvents, templateIdsOf } from './template-fold.js';
import { loadTemplateRows, upsertTemplates, writeFoldSideTables } from './template-persistence.js';
import { readTemplateFamilyEvent, type TemplateFamilyEvent } from './template-projection-events.js';
import { createTemplateSchema } from './template-schema.js';
import type { TemplateRow, TemplateTables } from './template-tables.js';

/** What a committed batch touched, for cache invalidation. */
export interface TemplateBatchEffect {
  readonly templateIds: readonly string[];
  /** Owners of touched templates; `*` when a public or system template changed (every tenant sees it). */
  readonly tenantIds: readonly string[];
}

const sharedOrOwner = (row: TemplateRow) => (row.is_public || row.is_system ? '*' : row.tenant_id);

/** Folds, refreshes and writes one part of a batch; returns what it touched. */
async function applyPart(db: Kysely<TemplateTables>, events: readonly TemplateFamilyEvent[]): Promise<TemplateBatchEffect | undefined> {
  if (events.length === 0) return undefined;
  const stored = new Map<string, TemplateRow>();
  await loadTemplateRows(db, templateIdsOf(events), stored);
  // Tenants that could see each stored template before this part: a template that stops being public
  // must drop the cached pages of every tenant, not only its owner's (#7.2).
  const audienceBefore = new Map([...stored].map(([id, row]) => [id, sharedOrOwner(row)]));
  const fold = foldTemplateEvents(stored, events);
  const dirtyRows = () => [...fold.dirty].map((id) => fold.rows.get(id)!);
  const storedRoots = [...fold.reshaped].filter((id) => stored.has(id));
  // The descendants query reads parent links from the table: store this part's first when it runs.
  if (storedRoots.length > 0) await upsertTemplates(db, dirtyRows());
  await refreshEffective(db, fold.reshaped, storedRoots, fold.rows, fold.dirty);
  await upsertTemplates(db, dirtyRows());
  await writeFoldSideTables(db, fold);
  const tenantIds = new Set<string>();
  for (const id of fold.dirty) {
    tenantIds.add(sharedOrOwner(fold.rows.get(id)!));
    const before = audienceBefore.get(id);
    if (before !== undefined) tenantIds.add(before);
  }
  return { templateIds: [...fold.dirty], tenantIds: [...tenantIds] };
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
      const typed = events.map(readTemplateFamilyEvent).filter((event) => event !== undefined);
      // Every template with an event of its own in the batch counts as touched, whatever the event.
      const templateIds = new Set(events.map((event) => templateIdOfStream(event.streamId)).filter((id) => id !== undefined));
      const tenantIds = new Set<string>();
      for (const part of splitBeforeHiding(typed)) {
        const effect = await applyPart(db, part);
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
