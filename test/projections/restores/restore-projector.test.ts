// The restores read model on PGlite: a restore is `queued` from its request until a worker starts its first
// run (long jobs wait their turn per tenant and per instance), then `running`.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { RestoreEvent } from '../../../src/domain/restores/restore-aggregate.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { liveSchema } from '../../../src/projections/projector.js';
import { restoreProjector } from '../../../src/projections/restores/restore-projector.js';

const SCHEMA = liveSchema('restores');
let sequence = 0n;

const recorded = (restoreId: string, events: RestoreEvent[], from = 0): RecordedEvent[] =>
  events.map((event, index) => ({
    id: randomUUID(),
    type: event.type,
    data: event.data,
    streamId: `restore-${restoreId}`,
    revision: BigInt(from + index),
    position: { commit: 1n, prepare: ++sequence },
    metadata: { tenantId: 'acme', userId: 'ada', occurredAt: '2026-12-07T10:00:00.000Z' },
    recordedAt: new Date(),
  }));

describe('restore projector', () => {
  let db: SqlDatabase;
  const apply = (events: readonly RecordedEvent[]) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the projector's own contract
    db.kysely.transaction().execute((trx) => restoreProjector.apply((trx as Kysely<any>).withSchema(SCHEMA), events));
  const statusOf = async (restoreId: string) =>
    (await db.query<{ status: string }>(`SELECT status FROM ${SCHEMA}.restores WHERE restore_id = $1`, [restoreId]))[0]?.status;

  beforeAll(async () => {
    db = await createPgliteDatabase({ maintenance: false });
    await restoreProjector.createSchema(db.kysely, SCHEMA);
  });
  afterAll(async () => db?.close());

  it('shows a requested restore as queued until its first run starts, then running', async () => {
    const restoreId = randomUUID();
    await apply(
      recorded(restoreId, [
        {
          type: 'RestoreRequested',
          data: {
            restoreId,
            backupId: randomUUID(),
            backupTenantId: 'acme',
            target: { kind: 'directory', path: '/tmp/x' },
            toPosition: null,
            toTime: null,
            requestedBy: 'ada',
            requestedAt: '2026-12-07T10:00:00.000Z',
          },
        },
      ]),
    );
    expect(await statusOf(restoreId)).toBe('queued');
    await apply(recorded(restoreId, [{ type: 'RestoreRunStarted', data: { run: 1, startedAt: '2026-12-07T10:00:01.000Z' } }], 1));
    expect(await statusOf(restoreId)).toBe('running');
  });
});
