// Group commit at the SQL level, on PGlite and PostgreSQL: es_append_many must fail an append whose events
// jsonb refuses on its own. The port refuses such text before grouping (see the contract); this is the
// second line, for whatever else jsonb may refuse.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();
const targets: [string, (() => Promise<SqlDatabase>) | undefined][] = [
  ['PGlite', () => createPgliteDatabase()],
  ['PostgreSQL', postgres.url ? async () => createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) }) : undefined],
];

for (const [name, open] of targets) {
  describe.skipIf(!open)(`es_append_many on ${name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await open!();
      await migrateEventStore(db);
    });
    afterAll(async () => db?.close());

    it('fails only the append whose events jsonb refuses; the rest of the group commits', async () => {
      const category = `grp${randomUUID().slice(0, 8)}`;
      const events = (data: string) => [{ id: randomUUID(), type: 'T', data: JSON.parse(data) as unknown, metadata: {} }];
      // Written as JSON text, as the store sends it: "\u0000" and a lone "\ud800" are valid JSON, not valid jsonb.
      const payload = `[${[
        JSON.stringify({ s: `${category}-a`, m: 'no_stream', e: null, v: events('{"ok":1}') }),
        `{"s":"${category}-b","m":"no_stream","e":null,"v":[{"id":"${randomUUID()}","type":"T","data":{"x":"a\\u0000b"},"metadata":{}}]}`,
        `{"s":"${category}-c","m":"no_stream","e":null,"v":[{"id":"${randomUUID()}","type":"T","data":{"x":"\\ud800"},"metadata":{}}]}`,
        JSON.stringify({ s: `${category}-d`, m: 'no_stream', e: null, v: events('{"ok":2}') }),
      ].join(',')}]`;
      const rows = await db.query<{ ord: number; error_code: string | null }>('SELECT ord, error_code FROM es_append_many($1)', [payload]);
      expect(rows.map((r) => [r.ord, r.error_code !== null])).toEqual([
        [0, false],
        [1, true],
        [2, true],
        [3, false],
      ]);
      const stored = await db.query<{ stream_id: string }>('SELECT stream_id FROM es_events WHERE stream_id LIKE $1 ORDER BY stream_id', [
        `${category}-%`,
      ]);
      expect(stored.map((r) => r.stream_id)).toEqual([`${category}-a`, `${category}-d`]);
    });
  });
}
