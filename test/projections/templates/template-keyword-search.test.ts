// Keyword search finds a template by each part of its name (#15): PostgreSQL's text-search parser reads
// `bar-14066-0` as `bar`, `-14066`, `-0`, so the document and the query are both the domain's words
// (searchWords), on PGlite and PostgreSQL alike; a read model indexed the old way is migrated at start.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { JsonObject } from '../../../src/domain/json.js';
import { searchWords } from '../../../src/domain/templates/index.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { liveSchema } from '../../../src/projections/projector.js';
import { searchTemplates } from '../../../src/projections/templates/template-queries.js';
import { createTemplateSchema } from '../../../src/projections/templates/template-schema.js';
import { templateProjector } from '../../../src/projections/templates/template-projector.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const TENANT = 't-search';
const SCHEMA = liveSchema('templates');
let position = 0n;

const created = (templateId: string, name: string, description: string | null = null): RecordedEvent => ({
  id: randomUUID(),
  type: 'TemplateCreated',
  data: {
    templateId,
    ownerTenantId: TENANT,
    name,
    description,
    categoryId: null,
    templateType: 'base',
    mergeStrategy: 'override',
    selectiveKeys: [],
    defaultDuration: null,
    defaultMaxParticipants: null,
    defaultMinParticipants: null,
    defaultPrice: null,
    defaultSkillLevel: null,
    dynamicProperties: {},
    validationRules: {},
    uiConfiguration: {},
    tags: [],
    isPublic: false,
    parentTemplateId: null,
    isSystemTemplate: false,
    status: 'draft',
    version: 1,
  } as unknown as JsonObject,
  streamId: `template-${templateId}`,
  revision: 0n,
  position: { commit: 1n, prepare: ++position },
  metadata: { tenantId: TENANT, userId: 'u', occurredAt: new Date().toISOString() },
  recordedAt: new Date(),
});

// Parts of names: ASCII, digits, accented letters (composed and decomposed), CJK; joined by what separates.
const part = fc.oneof(
  fc.stringMatching(/^[a-zA-Z]{1,8}$/),
  fc.stringMatching(/^[0-9]{1,6}$/),
  fc.constantFrom('Café', 'crème', 'Ärger', 'naïve', 'Cafe\u0301', 'Øre', 'İstanbul', 'ß'),
  fc.constantFrom('東京', 'タワー', '北京大学', '서울', 'Москва', 'αβγ'),
);
const separator = fc.constantFrom('-', '.', ' ', '_', '/', '–', '+', ':', '#', '(', ')');
const name = fc
  .tuple(fc.array(fc.tuple(part, separator), { minLength: 0, maxLength: 3 }), part)
  .map(([pairs, last]) => ({ parts: [...pairs.map(([p]) => p), last], name: pairs.map(([p, s]) => `${p}${s}`).join('') + last }));

function searchSuite(label: string, open: () => Promise<SqlDatabase>) {
  describe(label, () => {
    let db: SqlDatabase;
    const projector = templateProjector();
    const project = (events: RecordedEvent[]) => db.kysely.transaction().execute((trx) => projector.apply(trx.withSchema(SCHEMA), events));
    const found = async (keyword: string): Promise<string[]> =>
      (
        await searchTemplates(db.kysely, TENANT, {
          statuses: ['draft'],
          keyword,
          sort: 'name',
          order: 'asc',
          page: 1,
          pageSize: 100,
        })
      ).items.map((item) => item.templateId);

    beforeAll(async () => {
      db = await open();
      await createTemplateSchema(db.kysely, SCHEMA);
    });
    afterAll(async () => db?.close());

    it('finds names with hyphens, digits, dots, accents and CJK by each of their parts', async () => {
      const cases: [string, string[]][] = [
        ['bar-14066-0', ['14066', 'bar-14066', 'bar', '0', 'BAR-1406']],
        ['Python-101', ['101', 'python-101', 'Python 101', 'pyth']],
        ['ISO-9001 audit', ['9001', 'iso-9001', 'ISO', 'audit']],
        ['Release v1.2.3', ['v1', 'v1.2', '2.3', 'release v1.2']],
        ['Café crème', ['café', 'CAFÉ', 'Cafe\u0301', 'crème']],
        ['東京タワー 2024', ['東京', '東京タワー', '2024']],
      ];
      const ids = cases.map(() => randomUUID());
      await project(cases.map(([text], i) => created(ids[i]!, text)));
      for (const [i, [text, keywords]] of cases.entries())
        for (const keyword of keywords) expect(await found(keyword), `${text} by ${keyword}`).toContain(ids[i]);
      // A part of one name does not find another.
      expect(await found('14066')).toEqual([ids[0]]);
    });

    it('finds any name by each of its alphanumeric parts (and by the whole name)', async () => {
      await fc.assert(
        fc.asyncProperty(name, async ({ parts, name: text }) => {
          const id = randomUUID();
          await project([created(id, text)]);
          for (const keyword of [...parts, text]) expect(await found(keyword), `${text} by ${keyword}`).toContain(id);
        }),
        { numRuns: 40 },
      );
    });

    it('migrates a read model indexed by the parser: its rows are found by their parts after a start', async () => {
      const id = randomUUID();
      await project([created(id, 'foo-77123-9', 'Course ISO-9001')]);
      // As a read model made before: the raw text, under the parser's index.
      const s = sql.id(SCHEMA);
      await sql`DROP INDEX ${s}.templates_search_words`.execute(db.kysely);
      await sql`UPDATE ${s}.templates SET search_text = name || ' ' || coalesce(description, '') WHERE template_id = ${id}::uuid`.execute(
        db.kysely,
      );
      await sql`CREATE INDEX templates_keywords ON ${s}.templates USING gin (to_tsvector('simple', search_text))`.execute(db.kysely);
      await createTemplateSchema(db.kysely, SCHEMA);
      expect(await found('77123')).toEqual([id]);
      expect(await found('9001')).toContain(id);
      const indexes = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = ${SCHEMA}`.execute(db.kysely);
      expect(indexes.rows.map((row) => row.indexname)).toContain('templates_search_words');
      expect(indexes.rows.map((row) => row.indexname)).not.toContain('templates_keywords');
    });
  });
}

describe('searchWords', () => {
  it('splits on everything but letters and digits, lower-cased, composed, without repeats', () => {
    expect(searchWords('bar-14066-0')).toEqual(['bar', '14066', '0']);
    expect(searchWords('ISO-9001 iso')).toEqual(['iso', '9001']);
    expect(searchWords('Cafe\u0301.v1.2')).toEqual(['café', 'v1', '2']);
    expect(searchWords('東京タワー・2024')).toEqual(['東京タワー', '2024']);
    expect(searchWords(' -- ')).toEqual([]);
  });
});

searchSuite('keyword search on PGlite', () => createPgliteDatabase());

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] keyword search on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url)
  searchSuite('keyword search on PostgreSQL', async () => createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) }));
