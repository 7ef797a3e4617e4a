// What a drill compares: for every table of a read-model schema, per tenant, the row count and a checksum
// of the rows' content (md5 over the sorted md5 of each row's text, so row order never matters). Tables
// without a tenant_id column are compared whole, under tenant `*`.
import type { SqlQueryable } from '../../ports/sql-database.js';

export interface TableTenantChecksum {
  readonly table: string;
  readonly tenantId: string;
  readonly rows: number;
  readonly checksum: string;
}

const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

export async function readModelChecksums(db: SqlQueryable, schema: string): Promise<TableTenantChecksum[]> {
  const tables = await db.query<{ table_name: string; tenant: boolean }>(
    `SELECT t.table_name, EXISTS (SELECT 1 FROM information_schema.columns c
        WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'tenant_id') AS tenant
       FROM information_schema.tables t WHERE t.table_schema = $1 AND t.table_type = 'BASE TABLE' ORDER BY t.table_name`,
    [schema],
  );
  const result: TableTenantChecksum[] = [];
  for (const { table_name: table, tenant } of tables) {
    const rows = await db.query<{ tenant_id: string; rows: string; checksum: string }>(
      `SELECT ${tenant ? 't.tenant_id::text' : `'*'`} AS tenant_id, count(*)::text AS rows,
              md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) AS checksum
         FROM ${quoted(schema)}.${quoted(table)} t GROUP BY 1 ORDER BY 1`,
    );
    for (const row of rows) result.push({ table, tenantId: row.tenant_id, rows: Number(row.rows), checksum: row.checksum });
  }
  return result;
}

export interface ChecksumDifference {
  readonly table: string;
  readonly tenantId: string;
  readonly live: { readonly rows: number; readonly checksum: string };
  readonly restored: { readonly rows: number; readonly checksum: string };
}

/** Every (table, tenant) whose count or checksum differs, or that one side lacks (0 rows, checksum ''). */
export function compareChecksums(live: readonly TableTenantChecksum[], restored: readonly TableTenantChecksum[]): ChecksumDifference[] {
  const key = (c: TableTenantChecksum) => `${c.table}\u0000${c.tenantId}`;
  const liveByKey = new Map(live.map((c) => [key(c), c]));
  const restoredByKey = new Map(restored.map((c) => [key(c), c]));
  const differences: ChecksumDifference[] = [];
  for (const k of [...new Set([...liveByKey.keys(), ...restoredByKey.keys()])].sort()) {
    const l = liveByKey.get(k);
    const r = restoredByKey.get(k);
    if (l && r && l.rows === r.rows && l.checksum === r.checksum) continue;
    const [table, tenantId] = k.split('\u0000') as [string, string];
    differences.push({
      table,
      tenantId,
      live: { rows: l?.rows ?? 0, checksum: l?.checksum ?? '' },
      restored: { rows: r?.rows ?? 0, checksum: r?.checksum ?? '' },
    });
  }
  return differences;
}
