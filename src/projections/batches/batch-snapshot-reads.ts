// The read-model side of a batch snapshot (see src/commands/batches/batch-snapshot-builder.ts): relations
// between templates that no single stream holds, the tenant's names and counts, recent batches.
import { sql, type Kysely } from 'kysely';
import type { TemplateStatus } from '../../domain/templates/index.js';
import { chunked } from '../chunks.js';
import { liveSchema } from '../projector.js';
import { countTenantTemplates, templateSubtreeDepth } from '../templates/template-queries.js';
import { DELETED_STATUS, type TemplateTables } from '../templates/template-tables.js';
import { countBatchesSince } from './batch-queries.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shared connection is untyped; narrowed here
type AnyDb = Kysely<any>;
const IDS_PER_QUERY = 5000;

/**
 * Fits BatchSnapshotReads (commands/batches/batch-snapshot-builder.ts), which this layer may not import.
 * `catchUp` waits until the template read model holds everything the store holds (template-catch-up.ts).
 */
export function batchSnapshotReads(db: AnyDb, catchUp: () => Promise<void>) {
  const templates = () => (db as Kysely<TemplateTables>).withSchema(liveSchema('templates'));
  const table = sql.table(`${liveSchema('templates')}.templates`);
  return {
    catchUp,
    async children(templateIds: readonly string[]) {
      const result = new Map<string, { templateId: string; status: TemplateStatus; ownerTenantId: string }[]>();
      for (const ids of chunked(templateIds, IDS_PER_QUERY)) {
        const rows = await templates()
          .selectFrom('templates')
          .select(['template_id', 'parent_template_id', 'status', 'tenant_id'])
          .where('parent_template_id', 'in', ids)
          .where('status', '<>', DELETED_STATUS)
          .execute();
        for (const row of rows) {
          const parent = row.parent_template_id!;
          result.set(parent, [
            ...(result.get(parent) ?? []),
            {
              templateId: row.template_id,
              status: row.status as TemplateStatus,
              ownerTenantId: row.tenant_id,
            },
          ]);
        }
      }
      return result;
    },
    async descendants(templateIds: readonly string[]) {
      const result = new Map<string, string[]>();
      for (const ids of chunked(templateIds, IDS_PER_QUERY)) {
        const rows = await sql<{ root: string; template_id: string }>`
          WITH RECURSIVE tree(root, template_id, depth) AS (
            SELECT t.parent_template_id, t.template_id, 1 FROM ${table} t WHERE t.parent_template_id = ANY(${ids}::uuid[]) AND t.status <> ${DELETED_STATUS}
            UNION ALL
            SELECT tree.root, c.template_id, tree.depth + 1 FROM ${table} c JOIN tree ON c.parent_template_id = tree.template_id WHERE tree.depth < 16 AND c.status <> ${DELETED_STATUS})
          SELECT DISTINCT root, template_id FROM tree`.execute(db);
        for (const row of rows.rows) result.set(row.root, [...(result.get(row.root) ?? []), row.template_id]);
      }
      return result;
    },
    subtreeDepth: (templateId: string) => templateSubtreeDepth(db, templateId),
    async usageCounts(templateIds: readonly string[]) {
      const result = new Map<string, number>();
      for (const ids of chunked(templateIds, IDS_PER_QUERY)) {
        const rows = await templates()
          .selectFrom('templates')
          .select(['template_id', 'success_count'])
          .where('template_id', 'in', ids)
          .execute();
        for (const row of rows) result.set(row.template_id, Number(row.success_count));
      }
      return result;
    },
    templateCount: (tenantId: string) => countTenantTemplates(db, tenantId),
    async namesInUse(tenantId: string, normalizedNames: readonly string[]) {
      const rows = await sql<{ name: string; template_id: string }>`
        SELECT name, template_id FROM ${table}
        WHERE tenant_id = ${tenantId} AND status NOT IN ('archived', ${DELETED_STATUS})
          AND lower(regexp_replace(btrim(name), '\\s+', ' ', 'g')) = ANY(${[...normalizedNames]}::text[])`.execute(db);
      return rows.rows.map((row) => ({
        name: row.name,
        templateId: row.template_id,
      }));
    },
    batchesSince: (tenantId: string, since: Date) => countBatchesSince(db, tenantId, since),
  };
}
