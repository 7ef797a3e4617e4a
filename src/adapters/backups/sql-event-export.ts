// The bulk export of the PostgreSQL/PGlite event store: keyset pages over the log's primary key, each page
// one row holding its NDJSON built by the database (jsonb's text form, string_agg), so Node neither parses
// nor re-serializes an event. The range ends at a position at or below the head, so no horizon is needed:
// every transaction up to it has committed.
import type { EventExport, EventExportPage, EventExportRange } from '../../ports/event-export.js';
import type { Position } from '../../ports/event-store.js';
import type { SqlQueryable } from '../../ports/sql-database.js';

interface PageRow {
  count: string;
  ndjson: string | null;
  first_commit: string | null;
  first_prepare: string | null;
  last_commit: string | null;
  last_prepare: string | null;
}

// The record's keys in the order of BackupEventRecord; recorded_at as ISO-8601 UTC with the microseconds
// PostgreSQL keeps (Date.parse reads it, to the millisecond).
const LINE = `json_build_object(
    'streamId', e.stream_id,
    'revision', e.stream_revision::text,
    'position', e.transaction_id::text || '.' || e.global_position::text,
    'id', e.event_id,
    'type', e.event_type,
    'data', e.data,
    'metadata', e.metadata,
    'recordedAt', to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text`;

/** One page's statement: events after `after`, up to the range's end, in log order. */
function pageQuery(range: EventExportRange, after: Position): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const filters = [
    `(e.transaction_id, e.global_position) > (${param(after.commit.toString())}::xid8, ${param(after.prepare.toString())}::bigint)`,
    `(e.transaction_id, e.global_position) <= (${param(range.to.commit.toString())}::xid8, ${param(range.to.prepare.toString())}::bigint)`,
  ];
  if (range.tenantId !== undefined) filters.push(`e.metadata->>'tenantId' = ${param(range.tenantId)}`);
  if (range.categories) filters.push(`e.category = ANY(${param(range.categories)}::text[])`);
  const text = `WITH page AS (
      SELECT e.transaction_id, e.global_position, ${LINE} AS line FROM es_events e
       WHERE ${filters.join(' AND ')}
       ORDER BY e.transaction_id, e.global_position LIMIT ${param(range.pageSize)})
    SELECT count(*)::text AS count,
           string_agg(line, E'\\n' ORDER BY transaction_id, global_position) AS ndjson,
           (array_agg(transaction_id::text ORDER BY transaction_id, global_position))[1] AS first_commit,
           (array_agg(global_position::text ORDER BY transaction_id, global_position))[1] AS first_prepare,
           (array_agg(transaction_id::text ORDER BY transaction_id DESC, global_position DESC))[1] AS last_commit,
           (array_agg(global_position::text ORDER BY transaction_id DESC, global_position DESC))[1] AS last_prepare
      FROM page`;
  return { text, params };
}

export function createSqlEventExport(db: SqlQueryable): EventExport {
  return {
    async *pages(range: EventExportRange): AsyncGenerator<EventExportPage> {
      let after = range.after;
      for (;;) {
        const { text, params } = pageQuery(range, after);
        const [row] = await db.query<PageRow>(text, params);
        const count = Number(row?.count ?? 0);
        if (!row || count === 0 || row.ndjson === null) return;
        const page: EventExportPage = {
          ndjson: row.ndjson,
          count,
          first: { commit: BigInt(row.first_commit!), prepare: BigInt(row.first_prepare!) },
          last: { commit: BigInt(row.last_commit!), prepare: BigInt(row.last_prepare!) },
        };
        yield page;
        if (count < range.pageSize) return;
        after = page.last;
      }
    },
  };
}
