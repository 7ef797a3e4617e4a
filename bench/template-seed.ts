// Seeds template events straight into the event store's tables: `templates` templates over `tenants`
// tenants, in groups of five per tenant (one base, four specialized children inheriting from it with a
// merge strategy), three tags each from a small vocabulary, 85% activated, a third used once, 1% public.
// Written by SQL rather than commands so that the seed takes seconds; the events have exactly the shapes
// the commands write (the projection rebuild then reads them like any others).
import type { SqlDatabase } from '../src/ports/sql-database.js';

const WORDS = [
  'Italian',
  'Spanish',
  'Pottery',
  'Watercolour',
  'Yoga',
  'Pilates',
  'Photography',
  'Guitar',
  'Piano',
  'Cooking',
  'Baking',
  'Python',
  'Excel',
  'Leadership',
  'Negotiation',
  'Sketching',
  'Calligraphy',
  'Chess',
  'Dance',
  'Swimming',
];
const LEVELS = ['beginner', 'intermediate', 'advanced', 'expert', 'all_levels'];
const TYPES = ['base', 'specialized', 'custom'];

export const benchTemplateId = `md5('bench-template-' || i)::uuid`;

export async function seedTemplates(db: SqlDatabase, templates: number, tenants: number): Promise<void> {
  const chunk = 10_000;
  for (let first = 0; first < templates; first += chunk) {
    const last = Math.min(templates, first + chunk) - 1;
    // One row per template with its computed fields, then its events (created, activated, used).
    await db.query(
      `WITH t AS (
         SELECT i,
                md5('bench-template-' || i)::uuid AS id,
                'tenant-' || (i % $3::int) AS tenant,
                CASE WHEN (i / $3::int) % 5 = 0 THEN NULL ELSE md5('bench-template-' || (i - $3::int * ((i / $3::int) % 5)))::uuid END AS parent,
                ($4::text[])[1 + (i % 20)] || ' ' || ($4::text[])[1 + ((i / 20) % 20)] || ' ' || i AS name,
                ($5::text[])[1 + (i % 5)] AS level,
                ($6::text[])[1 + (i % 3)] AS ttype
           FROM generate_series($1::int, $2::int) i),
       created AS (
         SELECT t.*, jsonb_build_object(
           'templateId', id, 'ownerTenantId', tenant, 'parentTemplateId', parent, 'isSystemTemplate', false, 'status', 'draft', 'version', 1,
           'name', name, 'description', 'A course about ' || lower(name) || ' for every week of the term',
           'categoryId', NULL, 'templateType', ttype, 'mergeStrategy', CASE WHEN parent IS NULL THEN 'merge' ELSE (ARRAY['merge','override','extend'])[1 + i % 3] END,
           'selectiveKeys', '[]'::jsonb,
           'defaultDuration', CASE WHEN parent IS NOT NULL AND i % 2 = 0 THEN NULL ELSE 30 + (i % 8) * 15 END,
           'defaultMaxParticipants', 8 + i % 20, 'defaultMinParticipants', 1 + i % 4,
           'defaultPrice', jsonb_build_object('amountMinor', 1000 + (i % 200) * 250, 'currency', 'EUR'),
           'defaultSkillLevel', CASE WHEN parent IS NOT NULL AND i % 3 = 0 THEN NULL ELSE level END,
           'dynamicProperties', jsonb_build_object('room', 'R' || (i % 40), 'materials', jsonb_build_array('handout', 'slides'), 'options', jsonb_build_object('online', i % 2 = 0)),
           'validationRules', jsonb_build_object('minAge', 12 + i % 6), 'uiConfiguration', jsonb_build_object('color', '#' || substr(md5(i::text), 1, 6)),
           'tags', jsonb_build_array(
             jsonb_build_object('name', 'topic', 'value', lower(($4::text[])[1 + (i % 20)]), 'type', 'topic'),
             jsonb_build_object('name', 'skill', 'value', level, 'type', 'skill'),
             jsonb_build_object('name', 'format', 'value', (ARRAY['weekly','intensive','weekend'])[1 + i % 3], 'type', 'custom')),
           'isPublic', i % 100 = 0) AS data
         FROM t),
       events AS (
         SELECT i, 0 AS rev, id, tenant, 'TemplateCreated' AS type, data FROM created
         UNION ALL SELECT i, 1, id, tenant, 'TemplateActivated', jsonb_build_object('from', 'draft') FROM created WHERE i % 20 >= 3
         UNION ALL SELECT i, 2, id, tenant, 'TemplateUsageRecorded', jsonb_build_object('usageType', 'create_course', 'customizations', '{}'::jsonb,
                   'outcome', CASE WHEN i % 10 = 0 THEN 'error' ELSE 'success' END, 'errorMessage', NULL, 'usedBy', 'u1', 'courseId', NULL, 'templateVersion', 1)
           FROM created WHERE i % 20 >= 3 AND i % 3 = 0)
       INSERT INTO es_events (stream_id, stream_revision, event_id, event_type, data, metadata)
       SELECT 'template-' || id, rev, gen_random_uuid(), type, data,
              jsonb_build_object('tenantId', tenant, 'userId', 'seed', 'commandId', gen_random_uuid(), 'correlationId', gen_random_uuid(),
                                 'occurredAt', to_char(now() - (($2::int - i) || ' seconds')::interval, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'schemaVersion', 1)
         FROM events ORDER BY i, rev`,
      [first, last, tenants, WORDS, LEVELS, TYPES],
    );
  }
  await db.query(
    `INSERT INTO es_streams (stream_id, last_revision)
     SELECT stream_id, max(stream_revision) FROM es_events WHERE stream_id LIKE 'template-%' GROUP BY stream_id
     ON CONFLICT (stream_id) DO UPDATE SET last_revision = excluded.last_revision`,
  );
  await db.query('ANALYZE es_events');
}

export const BENCH_WORDS = WORDS;
export const BENCH_LEVELS = LEVELS;
export const BENCH_TYPES = TYPES;
