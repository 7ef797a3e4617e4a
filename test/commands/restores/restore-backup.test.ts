// A backup chain (full + incremental, real gzip chunks with sha256) restored into fresh databases on the
// run's real PostgreSQL: the chain in order, a missing parent, an altered chunk, an end outside the backup.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlRestoreTarget } from '../../../src/adapters/event-store/bulk-restore.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { BackupChainError, BackupIntegrityError, parseBackupKey } from '../../../src/commands/backups/index.js';
import { restoreBackup, type RestoreProgress } from '../../../src/commands/restores/restore-backup.js';
import { START, type EventStore, type RecordedEvent } from '../../../src/ports/event-store.js';
import { RestoreRangeError } from '../../../src/ports/restore-target.js';
import { alterChunk, directoryStorage, writeFixtureBackup } from '../../support/backup-fixtures.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();
const key = parseBackupKey('11'.repeat(32));

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (
    let page = await store.readAll({ after: START, maxCount: 500 });
    ;
    page = await store.readAll({ after: page.lastPosition, maxCount: 500 })
  ) {
    events.push(...page.events);
    if (page.isEnd) return events;
  }
}

describe.skipIf(!postgres.url)('restoring a backup chain into an empty PostgreSQL database', () => {
  const root = mkdtempSync(join(tmpdir(), 'kyo-backups-'));
  const storage = directoryStorage(root);
  const sources = { storage, key, clock: () => new Date() };
  let written: RecordedEvent[];
  beforeAll(async () => {
    const db = createPgDatabase({ connectionString: await createTestDatabase(postgres.url!) });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db);
    for (let i = 0; i < 150; i++)
      await store.append(
        `order-${i % 11}`,
        [{ id: randomUUID(), type: 'Placed', data: { i }, metadata: { tenantId: i % 2 ? 'a' : 'b' } }],
        {
          expectedRevision: 'any',
        },
      );
    written = await readEverything(store);
    await store.close();
    await db.close();
    await writeFixtureBackup(storage, { backupId: 'full-1', events: written.slice(0, 100), eventsPerChunk: 30, key });
    await writeFixtureBackup(storage, {
      backupId: 'incr-2',
      events: written.slice(100),
      parent: { backupId: 'full-1', to: written[99]!.position },
      eventsPerChunk: 20,
      key,
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const newTarget = async () => {
    const url = await createTestDatabase(postgres.url!);
    return { url, target: sqlRestoreTarget(createPgDatabase({ connectionString: url }), 'test') };
  };
  const countIn = async (url: string) => {
    const db = createPgDatabase({ connectionString: url });
    const [row] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM es_events');
    await db.close();
    return Number(row!.n);
  };

  it('restores the full backup and then the incremental, reporting progress, positions unchanged', async () => {
    const { url, target } = await newTarget();
    const progress: RestoreProgress[] = [];
    const result = await restoreBackup(sources, target, { restoreId: 'r1', backupId: 'incr-2' }, (p) => progress.push(p));
    await target.close();
    expect(result).toMatchObject({ events: 150, chain: ['full-1', 'incr-2'], lastPosition: written.at(-1)!.position });
    expect(progress[0]).toEqual({ events: 0, totalEvents: 150 });
    expect(progress.at(-1)).toMatchObject({ events: 150, totalEvents: 150 });
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const restored = await readEverything(createPostgresEventStore(db));
    expect(restored.map((e) => [e.id, e.position, e.revision, e.streamId])).toEqual(
      written.map((e) => [e.id, e.position, e.revision, e.streamId]),
    );
    await db.close();
  });

  it('restores up to a position inside the incremental', async () => {
    const { url, target } = await newTarget();
    const result = await restoreBackup(sources, target, { restoreId: 'r2', backupId: 'incr-2', toPosition: written[120]!.position });
    await target.close();
    expect(result.events).toBe(121);
    expect(await countIn(url)).toBe(121);
  });

  it('refuses an end after now or after the backup, before touching the target', async () => {
    const { url, target } = await newTarget();
    const future = restoreBackup(sources, target, { restoreId: 'r3', backupId: 'incr-2', toTime: new Date(Date.now() + 60_000) });
    await expect(future).rejects.toThrow(RestoreRangeError);
    await expect(future).rejects.toThrow(/in the future/);
    const beyond = restoreBackup(sources, target, {
      restoreId: 'r3',
      backupId: 'full-1',
      toPosition: written[120]!.position,
    });
    await expect(beyond).rejects.toMatchObject({ field: 'toPosition' });
    await target.close();
    await expect(countIn(url)).rejects.toThrow(/es_events/); // not even the schema was made
  });

  it('a chain whose parent is missing: a clear error, nothing restored', async () => {
    await writeFixtureBackup(storage, {
      backupId: 'orphan-3',
      events: written.slice(100),
      parent: { backupId: 'gone-0', to: written[99]!.position },
      key,
    });
    const { target } = await newTarget();
    const error = await restoreBackup(sources, target, { restoreId: 'r4', backupId: 'orphan-3' }).catch((e: unknown) => e);
    await target.close();
    expect(error).toBeInstanceOf(BackupChainError);
    expect(error).toMatchObject({ reason: 'missing_parent', message: expect.stringMatching(/needs its parent gone-0/) });
  });

  it('a chunk altered in the incremental: refused, nothing of the full backup is kept either', async () => {
    const copyRoot = mkdtempSync(join(tmpdir(), 'kyo-backups-altered-'));
    const copy = directoryStorage(copyRoot);
    await writeFixtureBackup(copy, { backupId: 'full-1', events: written.slice(0, 100), eventsPerChunk: 30, key });
    await writeFixtureBackup(copy, {
      backupId: 'incr-2',
      events: written.slice(100),
      parent: { backupId: 'full-1', to: written[99]!.position },
      eventsPerChunk: 20,
      key,
    });
    await alterChunk(copyRoot, 'incr-2', 'database-000002.ndjson.gz.enc');
    const { url, target } = await newTarget();
    const error = await restoreBackup({ ...sources, storage: copy }, target, { restoreId: 'r5', backupId: 'incr-2' }).catch(
      (e: unknown) => e,
    );
    await target.close();
    expect(error).toBeInstanceOf(BackupIntegrityError);
    expect((error as Error).message).toMatch(/database-000002.*sha256/);
    expect(await countIn(url)).toBe(0);
    await rm(copyRoot, { recursive: true, force: true });
  });
});
