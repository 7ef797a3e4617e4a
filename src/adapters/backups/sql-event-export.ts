// The bulk export of the PostgreSQL/PGlite event store: keyset pages over the log's primary key, each event
// one JSON line built by the database (jsonb's own text for data and metadata), so Node neither parses nor
// re-serializes an event. The range ends at a position at or below the head, so no horizon is needed:
// every transaction up to it has committed.
import type { EventExport, EventExportPage, EventExportRange, EventExportReader } from '../../ports/event-export.js';
import type { Position } from '../../ports/event-store.js';
import type { SqlQueryable } from '../../ports/sql-database.js';

interface LineRow {
  line: string;
}

// Concatenation is cheaper than json_build_object. The position comes first, so a page's first and last
// positions are read off its first and last lines. Text values go through to_json (JSON escaping);
// recorded_at is ISO-8601 UTC with the microseconds PostgreSQL keeps (Date.parse reads it to the ms).
const LINE = `'{"position":"' || e.transaction_id || '.' || e.global_position
  || '","streamId":' || to_json(e.stream_id)::text
  || ',"revision":"' || e.stream_revision
  || '","id":"' || e.event_id
  || '","type":' || to_json(e.event_type)::text
  || ',"data":' || e.data::text
  || ',"metadata":' || e.metadata::text
  || ',"recordedAt":"' || to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"}'`;

const POSITION_AT_START = /^\{"position":"(\d+)\.(\d+)"/;
function positionOfLine(line: string): Position {
  const match = POSITION_AT_START.exec(line)!;
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}

/** One page's statement: events after `after`, up to the range's end, in log order. */
function pageQuery(
  range: EventExportRange,
  after: Position,
  limit: number,
  offset = 0,
  select = LINE,
): { text: string; params: unknown[] } {
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
  // Rows, not one aggregated string: string_agg(… ORDER BY …) sorts the page's text, which spills to disk
  // beyond work_mem; the primary key's index scan returns the rows in order already.
  const text = `SELECT ${select} AS line FROM es_events e
     WHERE ${filters.join(' AND ')}
     ORDER BY e.transaction_id, e.global_position ${offset > 0 ? `OFFSET ${param(offset)} ` : ''}LIMIT ${param(limit)}`;
  return { text, params };
}

// Only the position, in the line's form: unscoped, the primary key's index-only scan answers it.
const POSITION_ONLY = `'{"position":"' || e.transaction_id || '.' || e.global_position || '"'`;

export function createSqlEventExport(db: SqlQueryable): EventExport {
  return {
    async positionAt(range: EventExportRange, count: number): Promise<Position | undefined> {
      const { text, params } = pageQuery(range, range.after, 1, Math.max(0, Math.floor(count) - 1), POSITION_ONLY);
      const [row] = await db.query<LineRow>(text, params);
      return row ? positionOfLine(row.line) : undefined;
    },
    open(range: EventExportRange): EventExportReader {
      let after = range.after;
      let ended = false;
      return {
        async next(max: number): Promise<EventExportPage | undefined> {
          if (ended) return undefined;
          const limit = Math.max(1, Math.floor(max));
          const { text, params } = pageQuery(range, after, limit);
          const rows = await db.query<LineRow>(text, params);
          // Fewer rows than asked: the range has no more (the statement ends at the range's end).
          if (rows.length < limit) ended = true;
          if (rows.length === 0) return undefined;
          let ndjson = rows[0]!.line;
          for (let index = 1; index < rows.length; index++) ndjson += '\n' + rows[index]!.line;
          const page: EventExportPage = {
            ndjson,
            count: rows.length,
            first: positionOfLine(rows[0]!.line),
            last: positionOfLine(rows.at(-1)!.line),
          };
          after = page.last;
          return page;
        },
      };
    },
  };
}
