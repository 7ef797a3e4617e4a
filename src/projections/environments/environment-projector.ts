// Projects environment, config and config template events into rm_environments. One statement per event:
// these aggregates change at human pace. Each update is guarded by the row's revision, so a replayed batch
// changes nothing. A secret's values are never projected (its events hold them only sealed anyway).
import { sql, type Kysely } from 'kysely';
import type { ConfigEvent, ConfigTemplateDefinition, ConfigTemplateEvent, EnvironmentEvent } from '../../domain/environments/index.js';
import { CONFIG_CATEGORY, CONFIG_TEMPLATE_CATEGORY, ENVIRONMENT_CATEGORY, templateDataKeys } from '../../domain/environments/index.js';
import { parseStreamId } from '../../domain/tenant-streams.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { Projector } from '../projector.js';
import type { EnvironmentTables } from './environment-tables.js';

/** jsonb values go to the driver as JSON text. */
const jsonb = <T>(value: T) => sql<T>`${JSON.stringify(value)}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- DDL runs before table types exist
async function createSchema(db: Kysely<any>, schema: string): Promise<void> {
  const s = sql.id(schema);
  const audit = sql.raw(`revision bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      created_by text NOT NULL, updated_by text NOT NULL`);
  await sql`CREATE SCHEMA IF NOT EXISTS ${s}`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.environments (
      tenant_id text NOT NULL, environment_id uuid NOT NULL, name text NOT NULL, type text NOT NULL,
      orchestrator text NOT NULL, target text NOT NULL, status text NOT NULL, reason text,
      flags jsonb NOT NULL, quotas jsonb NOT NULL, networking jsonb NOT NULL, security jsonb NOT NULL, ${audit},
      PRIMARY KEY (tenant_id, environment_id))`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS environments_tenant_name ON ${s}.environments (tenant_id, name)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.configs (
      tenant_id text NOT NULL, config_id uuid NOT NULL, name text NOT NULL, environment_id uuid, type text NOT NULL,
      version integer NOT NULL, roll_services boolean NOT NULL, keys jsonb NOT NULL, data jsonb, ${audit},
      PRIMARY KEY (tenant_id, config_id))`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS configs_tenant_environment ON ${s}.configs (tenant_id, environment_id, name)`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.config_versions (
      tenant_id text NOT NULL, config_id uuid NOT NULL, version integer NOT NULL, roll_services boolean NOT NULL,
      keys jsonb NOT NULL, data jsonb, created_at timestamptz NOT NULL, created_by text NOT NULL,
      PRIMARY KEY (tenant_id, config_id, version))`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${s}.config_templates (
      tenant_id text NOT NULL, template_id uuid NOT NULL, name text NOT NULL, description text NOT NULL,
      config_type text NOT NULL, variables jsonb NOT NULL, data jsonb NOT NULL, ${audit},
      PRIMARY KEY (tenant_id, template_id))`.execute(db);
}

interface Meta {
  tenant: string;
  at: Date;
  by: string;
  revision: number;
}

const metaOf = (event: RecordedEvent): Meta => ({
  tenant: String(event.metadata.tenantId),
  at: new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString())),
  by: String(event.metadata.userId ?? ''),
  revision: Number(event.revision),
});

const created = (m: Meta) => ({ revision: m.revision, created_at: m.at, updated_at: m.at, created_by: m.by, updated_by: m.by });
const touched = (m: Meta) => ({ revision: m.revision, updated_at: m.at, updated_by: m.by });

async function applyEnvironment(db: Kysely<EnvironmentTables>, event: EnvironmentEvent, m: Meta): Promise<void> {
  const id = event.data.environmentId;
  const row = () =>
    db.updateTable('environments').where('tenant_id', '=', m.tenant).where('environment_id', '=', id).where('revision', '<', m.revision);
  switch (event.type) {
    case 'EnvironmentCreated':
    case 'EnvironmentUpdated': {
      const { name, type, orchestrator, target, flags, quotas, networking, security } = event.data.settings;
      const values = {
        name,
        type,
        orchestrator,
        target,
        flags: jsonb(flags),
        quotas: jsonb(quotas),
        networking: jsonb(networking),
        security: jsonb(security),
      };
      if (event.type === 'EnvironmentCreated') {
        await db
          .insertInto('environments')
          .values({ tenant_id: m.tenant, environment_id: id, status: 'active', reason: null, ...values, ...created(m) })
          .onConflict((oc) => oc.doNothing())
          .execute();
      } else
        await row()
          .set({ ...values, ...touched(m) })
          .execute();
      return;
    }
    case 'EnvironmentFailed':
      return void (await row()
        .set({ status: 'failed', reason: event.data.reason, ...touched(m) })
        .execute());
    case 'EnvironmentActivated':
      return void (await row()
        .set({ status: 'active', reason: null, ...touched(m) })
        .execute());
    case 'EnvironmentDeletionStarted':
      return void (await row()
        .set({ status: 'deleting', ...touched(m) })
        .execute());
    case 'EnvironmentDeleted':
      return void (await db.deleteFrom('environments').where('tenant_id', '=', m.tenant).where('environment_id', '=', id).execute());
  }
}

async function applyConfig(db: Kysely<EnvironmentTables>, event: ConfigEvent, m: Meta): Promise<void> {
  const id = event.data.configId;
  switch (event.type) {
    case 'ConfigCreated':
    case 'ConfigUpdated': {
      const d = event.data;
      // Only plain types carry `data`; a secret's row keeps its keys.
      const data = d.type === 'secret' || !d.data ? null : jsonb(d.data);
      await db
        .insertInto('config_versions')
        .values({
          tenant_id: m.tenant,
          config_id: id,
          version: d.version,
          roll_services: d.rollServices,
          keys: jsonb(d.keys),
          data,
          created_at: m.at,
          created_by: m.by,
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
      if (event.type === 'ConfigCreated') {
        await db
          .insertInto('configs')
          .values({
            tenant_id: m.tenant,
            config_id: id,
            name: d.name,
            environment_id: d.environmentId,
            type: d.type,
            version: d.version,
            roll_services: d.rollServices,
            keys: jsonb(d.keys),
            data,
            ...created(m),
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
      } else {
        await db
          .updateTable('configs')
          .set({ version: d.version, roll_services: d.rollServices, keys: jsonb(d.keys), data, ...touched(m) })
          .where('tenant_id', '=', m.tenant)
          .where('config_id', '=', id)
          .where('revision', '<', m.revision)
          .execute();
      }
      return;
    }
    case 'ConfigDeleted':
      await db.deleteFrom('configs').where('tenant_id', '=', m.tenant).where('config_id', '=', id).execute();
      await db.deleteFrom('config_versions').where('tenant_id', '=', m.tenant).where('config_id', '=', id).execute();
      return;
    case 'ConfigKeyRewrapped':
      return; // nothing shown changes: the read model holds no key material
  }
}

async function applyTemplate(db: Kysely<EnvironmentTables>, event: ConfigTemplateEvent, m: Meta): Promise<void> {
  const id = event.data.templateId;
  if (event.type === 'ConfigTemplateDeleted') {
    await db.deleteFrom('config_templates').where('tenant_id', '=', m.tenant).where('template_id', '=', id).execute();
    return;
  }
  if (event.type === 'ConfigTemplateKeyRewrapped') return; // nothing shown changes: the read model holds no key material
  const { name, description, configType } = event.data.definition;
  const { variables, data } = shownTemplate(event.data.definition);
  const values = { name, description, config_type: configType, variables: jsonb(variables), data: jsonb(data) };
  if (event.type === 'ConfigTemplateCreated') {
    await db
      .insertInto('config_templates')
      .values({ tenant_id: m.tenant, template_id: id, ...values, ...created(m) })
      .onConflict((oc) => oc.doNothing())
      .execute();
  } else {
    await db
      .updateTable('config_templates')
      .set({ ...values, ...touched(m) })
      .where('tenant_id', '=', m.tenant)
      .where('template_id', '=', id)
      .where('revision', '<', m.revision)
      .execute();
  }
}

/** What the read model keeps of a template: a secret template's values and defaults never (also one stored
 * before they were sealed), only its data keys and which variables have a default. */
function shownTemplate(definition: ConfigTemplateDefinition): Pick<ConfigTemplateDefinition, 'variables' | 'data'> {
  if (definition.configType !== 'secret') return definition;
  const data = Object.fromEntries(templateDataKeys(definition).map((key) => [key, '']));
  const variables = definition.variables.map(({ default: given, ...spec }) =>
    given === undefined ? spec : { ...spec, defaultSealed: true },
  );
  return { variables, data };
}

export const environmentProjector: Projector = {
  name: 'environments',
  filter: { categories: [ENVIRONMENT_CATEGORY, CONFIG_CATEGORY, CONFIG_TEMPLATE_CATEGORY] },
  createSchema,
  async apply(anyDb, events) {
    const db = anyDb as Kysely<EnvironmentTables>;
    for (const event of events) {
      // A stream of these categories that is not an aggregate (no UUID) would fail the uuid columns and
      // stall the projection for good; it carries nothing these models show. Both shapes (tenant-scoped and
      // legacy global, domain/tenant-streams.ts) are aggregates.
      const category = parseStreamId(event.streamId)?.category;
      if (category === undefined) continue;
      const m = metaOf(event);
      const typed = { type: event.type, data: event.data };
      if (category === ENVIRONMENT_CATEGORY) await applyEnvironment(db, typed as EnvironmentEvent, m);
      else if (category === CONFIG_CATEGORY) await applyConfig(db, typed as ConfigEvent, m);
      else await applyTemplate(db, typed as ConfigTemplateEvent, m);
    }
  },
};
