// The backups read model on PGlite: a backup is `queued` from its request until a worker starts it
// (BackupStarted), and a drill is `queued` until a worker starts its run (long jobs wait their turn per
// tenant and per instance).
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/adapters/sql/pglite-database.js';
import type { BackupEvent } from '../../../src/domain/backups/index.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import type { SqlDatabase } from '../../../src/ports/sql-database.js';
import { backupProjector } from '../../../src/projections/backups/backup-projector.js';
import { liveSchema } from '../../../src/projections/projector.js';

const SCHEMA = liveSchema('backups');
let sequence = 0n;

describe('backup projector', () => {
  let db: SqlDatabase;
  const revisions = new Map<string, number>();
  const apply = (backupId: string, ...events: BackupEvent[]) =>
    db.kysely.transaction().execute((trx) =>
      backupProjector.apply(
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the projector's own contract
        (trx as Kysely<any>).withSchema(SCHEMA),
        events.map((event): RecordedEvent => {
          const revision = revisions.get(backupId) ?? 0;
          revisions.set(backupId, revision + 1);
          return {
            id: randomUUID(),
            type: event.type,
            data: event.data,
            streamId: `backup-${backupId}`,
            revision: BigInt(revision),
            position: { commit: 1n, prepare: ++sequence },
            metadata: { tenantId: 'acme', userId: 'ada', occurredAt: '2026-12-07T10:00:00.000Z' },
            recordedAt: new Date(),
          };
        }),
      ),
    );
  const row = async (backupId: string) =>
    (
      await db.query<{ status: string; last_drill: string | null }>(
        `SELECT status, last_drill FROM ${SCHEMA}.backups WHERE backup_id = $1`,
        [backupId],
      )
    )[0]!;

  beforeAll(async () => {
    db = await createPgliteDatabase({ maintenance: false });
    await backupProjector.createSchema(db.kysely, SCHEMA);
  });
  afterAll(async () => db?.close());

  it('shows a backup queued until a worker starts it, and a drill queued until its run starts', async () => {
    const backupId = randomUUID();
    await apply(backupId, {
      type: 'BackupRequested',
      data: {
        backupId,
        name: 'n',
        backupType: 'database',
        scope: { tenantId: 'acme' },
        incremental: false,
        policyId: null,
        requestedBy: 'ada',
      },
    } as BackupEvent);
    expect((await row(backupId)).status).toBe('queued');
    await apply(backupId, {
      type: 'BackupStarted',
      data: {
        parentBackupId: null,
        from: '0.0',
        to: '9.9',
        items: ['database'],
        location: 'x',
        encryption: null,
        startedAt: '2026-12-07T10:00:01.000Z',
      },
    } as BackupEvent);
    expect((await row(backupId)).status).toBe('running');
    await apply(backupId, {
      type: 'BackupCompleted',
      data: { eventCount: 5, bytes: 10, checksum: 'c', location: 'l', durationMs: 1, completedAt: '2026-12-07T10:00:02.000Z' },
    });
    await apply(backupId, { type: 'RestoreDrillStarted', data: { drillId: 'd1', startedAt: '2026-12-07T10:00:03.000Z' } });
    expect(JSON.parse((await row(backupId)).last_drill!)).toMatchObject({ drillId: 'd1', status: 'queued' });
    await apply(backupId, { type: 'RestoreDrillRunStarted', data: { drillId: 'd1', run: 1, startedAt: '2026-12-07T10:00:04.000Z' } });
    expect(JSON.parse((await row(backupId)).last_drill!)).toMatchObject({ drillId: 'd1', status: 'running', runs: 1 });
  });
});
