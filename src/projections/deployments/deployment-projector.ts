// Projects deployment events into rm_deployments: the deployment row is the decider's own fold (so the
// read model and the aggregate cannot disagree on status), the release rows its history.
import type { Kysely } from 'kysely';
import {
  deploymentDecider,
  deploymentIdOfStream,
  releaseOf,
  statusOf,
  type DeploymentEvent,
  type DeploymentState,
  type ExistingDeployment,
} from '../../domain/deployments/index.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import type { Projector } from '../projector.js';
import type { DeploymentRow, DeploymentTables, ReleaseRow } from './deployment-tables.js';

const at = (event: RecordedEvent) => new Date(String(event.metadata.occurredAt ?? event.recordedAt.toISOString()));

export function rowOf(
  state: ExistingDeployment,
  previous: DeploymentRow | undefined,
  event: RecordedEvent,
  tenantId: string,
): DeploymentRow {
  const current = releaseOf(state, state.desired);
  const by = String(event.metadata.userId ?? '');
  return {
    tenant_id: tenantId,
    deployment_id: state.deploymentId,
    name: state.name,
    application_id: state.applicationId,
    environment_id: state.environmentId,
    version: current?.version ?? '',
    status: statusOf(state),
    current_release: state.desired,
    live_release: state.liveRelease,
    replicas: (current?.services ?? []).reduce((sum, s) => sum + s.replicas, 0),
    state: JSON.stringify(state),
    revision: Number(event.revision),
    created_at: previous?.created_at ?? at(event),
    updated_at: at(event),
    created_by: previous?.created_by ?? by,
    updated_by: by,
  };
}

export const deploymentProjector: Projector = {
  name: 'deployments',
  filter: { categories: ['deployment'] },

  async createSchema(db, schema) {
    await db.schema.createSchema(schema).ifNotExists().execute();
    await db.schema
      .withSchema(schema)
      .createTable('deployments')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('deployment_id', 'uuid', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('environment_id', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('current_release', 'integer', (c) => c.notNull())
      .addColumn('live_release', 'integer')
      .addColumn('replicas', 'integer', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .addColumn('revision', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('deployments_pk', ['tenant_id', 'deployment_id'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createIndex('deployments_tenant_env')
      .ifNotExists()
      .on('deployments')
      .columns(['tenant_id', 'environment_id', 'status'])
      .execute();
    await db.schema
      .withSchema(schema)
      .createTable('releases')
      .ifNotExists()
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('deployment_id', 'uuid', (c) => c.notNull())
      .addColumn('release', 'integer', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('automatic', 'boolean', (c) => c.notNull())
      .addColumn('rollback_to', 'integer')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('changes', 'jsonb', (c) => c.notNull())
      .addColumn('services', 'jsonb', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('failure', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('releases_pk', ['tenant_id', 'deployment_id', 'release'])
      .execute();
  },

  async apply(anyDb, events) {
    const db = anyDb as Kysely<DeploymentTables>;
    // Per stream: two tenants may use one deployment id (domain/tenant-streams.ts); rows are keyed by both.
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (deploymentIdOfStream(event.streamId) === undefined) continue;
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    for (const [streamId, streamEvents] of byStream) {
      const deploymentId = deploymentIdOfStream(streamId)!;
      const tenantId = String(streamEvents[0]!.metadata.tenantId ?? '');
      const stored = await db
        .selectFrom('deployments')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('deployment_id', '=', deploymentId)
        .executeTakeFirst();
      let state: DeploymentState = stored
        ? typeof stored.state === 'string'
          ? JSON.parse(stored.state)
          : stored.state
        : deploymentDecider.initialState();
      let row = stored;
      const releaseMeta = new Map<number, { by: string; at: Date }>();
      let releasesTouched = false;
      for (const event of streamEvents) {
        if (stored && Number(event.revision) <= Number(stored.revision)) continue; // a replayed batch changes nothing
        const domainEvent = { type: event.type, data: event.data } as DeploymentEvent;
        state = deploymentDecider.evolve(state, domainEvent);
        if (domainEvent.type === 'ReleaseCreated')
          releaseMeta.set(domainEvent.data.release, { by: String(event.metadata.userId ?? ''), at: at(event) });
        if (['ReleaseCreated', 'RolloutSucceeded', 'RolloutFailed'].includes(event.type)) releasesTouched = true;
        if (state.status === 'exists') row = rowOf(state, row, event, tenantId);
      }
      if (!row || row === stored || state.status !== 'exists') continue;
      const { tenant_id: _t, deployment_id: _d, created_at: _c, created_by: _b, ...changes } = row;
      await db
        .insertInto('deployments')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'deployment_id']).doUpdateSet(changes))
        .execute();
      if (!releasesTouched) continue;
      const releases: ReleaseRow[] = state.releases.map((r) => ({
        tenant_id: tenantId,
        deployment_id: deploymentId,
        release: r.release,
        version: r.version,
        kind: r.kind,
        automatic: r.automatic,
        rollback_to: r.rollbackTo,
        reason: r.reason,
        changes: JSON.stringify(r.changes),
        services: JSON.stringify(r.services),
        outcome: r.outcome,
        failure: r.failure,
        created_by: releaseMeta.get(r.release)?.by ?? '',
        created_at: releaseMeta.get(r.release)?.at ?? row.updated_at,
      }));
      await db
        .insertInto('releases')
        .values(releases)
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'deployment_id', 'release'])
            .doUpdateSet({ outcome: (eb) => eb.ref('excluded.outcome'), failure: (eb) => eb.ref('excluded.failure') }),
        )
        .execute();
    }
  },
};
