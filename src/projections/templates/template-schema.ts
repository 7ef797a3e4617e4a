// DDL of the template read models. Keyword search uses PostgreSQL full-text search over name, description
// and tags: it is built in (PGlite has it too, no extension to install) and a GIN expression index serves
// it. The words are the domain's (searchWords: runs of letters and digits, lower-cased, no stemming),
// stored space-separated and turned into a tsvector as they are, so `bar-14066-0`, `ISO-9001` or `v1.2`
// are found by each part in any language. Prefix matching (`word:*`) covers typing.
import { sql, type Kysely } from 'kysely';
import type { TemplateContent } from '../../domain/templates/index.js';
import { searchText } from './template-fold.js';

/** Recomputes every row's search_text from its own content, a page of rows per statement. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- DDL runs before table types exist
async function rederiveSearchText(db: Kysely<any>, schema: string): Promise<void> {
  const s = sql.id(schema);
  for (let after = '00000000-0000-0000-0000-000000000000'; ;) {
    const page = await sql<{ template_id: string; content: TemplateContent }>`SELECT template_id, content FROM ${s}.templates
        WHERE template_id > ${after}::uuid ORDER BY template_id LIMIT 500`.execute(db);
    if (page.rows.length === 0) return;
    const texts = page.rows.map((row) => ({ id: row.template_id, text: searchText(row.content) }));
    await sql`UPDATE ${s}.templates t SET search_text = v.text
        FROM jsonb_to_recordset(${JSON.stringify(texts)}::jsonb) AS v(id uuid, text text) WHERE t.template_id = v.id`.execute(db);
    after = page.rows.at(-1)!.template_id;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- DDL runs before table types exist
export async function createTemplateSchema(db: Kysely<any>, schema: string): Promise<void> {
  const s = sql.id(schema);
  await sql`CREATE SCHEMA IF NOT EXISTS ${s}`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.templates (
      template_id uuid PRIMARY KEY,
      tenant_id text NOT NULL,
      is_public boolean NOT NULL,
      is_system boolean NOT NULL,
      name text NOT NULL,
      description text,
      category_id uuid,
      template_type text NOT NULL,
      status text NOT NULL,
      parent_template_id uuid,
      content jsonb NOT NULL,
      effective jsonb NOT NULL,
      inherited jsonb,
      parent_unavailable boolean NOT NULL DEFAULT false,
      skill_level text,
      price_minor bigint,
      currency text,
      duration integer,
      tag_keys text[] NOT NULL,
      search_text text NOT NULL,
      version integer NOT NULL,
      revision bigint NOT NULL,
      usage_count integer NOT NULL,
      success_count integer NOT NULL,
      last_used_at timestamptz,
      favorites_count integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      created_by text NOT NULL,
      updated_by text NOT NULL)`.execute(db);
  // Tables made before inheritance was frozen for unavailable parents (#7.1) gain the columns; a child
  // whose parent is still visible takes the parent's current effective content as what it last saw.
  await sql`ALTER TABLE ${s}.templates ADD COLUMN IF NOT EXISTS inherited jsonb`.execute(db);
  await sql`ALTER TABLE ${s}.templates ADD COLUMN IF NOT EXISTS parent_unavailable boolean NOT NULL DEFAULT false`.execute(db);
  await sql`UPDATE ${s}.templates c SET inherited = p.effective FROM ${s}.templates p
      WHERE c.parent_template_id = p.template_id AND c.inherited IS NULL AND (p.tenant_id = c.tenant_id OR p.is_public OR p.is_system)`.execute(
    db,
  );
  // Tenant-first for the default listing; the visibility rule ORs in public and system templates,
  // which the partial index serves.
  await sql`CREATE INDEX IF NOT EXISTS templates_tenant_status ON ${s}.templates (tenant_id, status, name)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS templates_shared ON ${s}.templates (status, name) WHERE is_public OR is_system`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS templates_parent ON ${s}.templates (parent_template_id) WHERE parent_template_id IS NOT NULL`.execute(
    db,
  );
  // Keyword search matches the normalised words of search_text (domain searchWords), never the text-search
  // parser's tokens. A read model made before holds the raw text under the parser's index: its rows get
  // their document again from their content, once, and the old index goes last (a crash midway redoes it).
  const old = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_indexes
      WHERE schemaname = ${schema} AND indexname = 'templates_keywords'`.execute(db);
  if ((old.rows[0]?.n ?? 0) > 0) {
    await rederiveSearchText(db, schema);
    await sql`DROP INDEX IF EXISTS ${s}.templates_keywords`.execute(db);
  }
  await sql`CREATE INDEX IF NOT EXISTS templates_search_words ON ${s}.templates
      USING gin (array_to_tsvector(string_to_array(search_text, ' ')))`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS templates_tags ON ${s}.templates USING gin (tag_keys)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.favorites (
      template_id uuid NOT NULL,
      tenant_id text NOT NULL,
      user_id text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, user_id, template_id))`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS favorites_template ON ${s}.favorites (template_id)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.usage_days (
      template_id uuid NOT NULL,
      tenant_id text NOT NULL,
      day date NOT NULL,
      usage_type text NOT NULL,
      success_count integer NOT NULL,
      error_count integer NOT NULL,
      PRIMARY KEY (template_id, tenant_id, day, usage_type))`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS usage_days_tenant ON ${s}.usage_days (tenant_id, day)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.versions (
      template_id uuid NOT NULL,
      version integer NOT NULL,
      content jsonb NOT NULL,
      parent_template_id uuid,
      event_type text NOT NULL,
      changed_by text NOT NULL,
      changed_at timestamptz NOT NULL,
      PRIMARY KEY (template_id, version))`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.history (
      template_id uuid NOT NULL,
      revision bigint NOT NULL,
      event_type text NOT NULL,
      changes jsonb NOT NULL,
      tenant_id text NOT NULL,
      user_id text NOT NULL,
      correlation_id text,
      occurred_at timestamptz NOT NULL,
      PRIMARY KEY (template_id, revision))`.execute(db);
}
