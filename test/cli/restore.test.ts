// `npm run restore` as a real process, against real PostgreSQL and a new PGlite data directory: a chain
// restored with a progress bar; an altered chunk refused with nothing restored; a restore killed with
// SIGKILL half-way leaves a store that the service refuses to start on, and a second run completes it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import { START, formatPosition, type RecordedEvent } from '../../src/ports/event-store.js';
import { alterChunk, directoryStorage, writeFixtureBackup } from '../support/backup-fixtures.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { killGroup, runBuilt, runNpm, type StartedProcess } from '../packaging/processes.js';
import { createS3BackupStorage } from '../../src/adapters/backups/s3-backup-storage.js';
import { startS3rver } from '../support/s3rver.js';

const postgres = postgresService();
const started: StartedProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const process of started) killGroup(process);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** Events as a store would have recorded them: increasing positions, a few streams, times a second apart. */
function syntheticEvents(count: number, firstCommit = 900_000n): RecordedEvent[] {
  const base = Date.parse('2026-11-01T00:00:00Z');
  const revisions = new Map<string, bigint>();
  return Array.from({ length: count }, (_, i) => {
    const streamId = `order-${i % 97}`;
    const revision = revisions.get(streamId) ?? 0n;
    revisions.set(streamId, revision + 1n);
    return {
      id: randomUUID(),
      type: 'Placed',
      streamId,
      revision,
      position: { commit: firstCommit + BigInt(Math.floor(i / 3)), prepare: BigInt(i + 1) },
      data: { i, note: 'x'.repeat(40) },
      metadata: { tenantId: i % 2 ? 'a' : 'b' },
      recordedAt: new Date(base + i * 1000),
    };
  });
}

/** The CLI compiled, run by node as `npm run restore` ends up running it; `npm` runs the script itself (once). */
async function restore(args: string[], env: Record<string, string> = {}, via: 'node' | 'npm' = 'node'): Promise<StartedProcess> {
  const run = via === 'npm' ? runNpm(['run', 'restore', '--', ...args], env) : await runBuilt('cli/restore', args, env);
  started.push(run);
  return run;
}

async function eventCount(url: string): Promise<number> {
  const db = createPgDatabase({ connectionString: url });
  try {
    // The restore checks every chunk (the sealed-secret key check reads them) before it creates the
    // store's tables, so a refused restore may leave none: that is zero events too.
    const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('es_events') IS NOT NULL AS exists`);
    if (!table!.exists) return 0;
    const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`);
    return Number(row!.n);
  } finally {
    await db.close();
  }
}

describe.skipIf(!postgres.url)('npm run restore', () => {
  const root = tempDir('kyo-cli-backups-');
  const storage = directoryStorage(root);
  const events = syntheticEvents(3000);
  beforeAll(async () => {
    await writeFixtureBackup(storage, { backupId: 'full', events: events.slice(0, 2000), eventsPerChunk: 500 });
    await writeFixtureBackup(storage, {
      backupId: 'incr',
      events: events.slice(2000),
      parent: { backupId: 'full', to: events[1999]!.position },
      eventsPerChunk: 500,
    });
  });

  it('restores a chain into an empty PostgreSQL database, with progress, and the service starts on it', { timeout: 120_000 }, async () => {
    const url = await createTestDatabase(postgres.url!);
    const run = await restore(['--from', root, '--backup', 'incr', '--target', url], {}, 'npm');
    const { code } = await run.exited;
    expect(run.output()).toMatch(/restoring backup incr/);
    expect(run.output()).toMatch(/restored 3000 events in 97 streams from full → incr/);
    expect(code).toBe(0);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db);
    const page = await store.readAll({ after: START, maxCount: 5000 });
    expect(page.events.map((e) => formatPosition(e.position))).toEqual(events.map((e) => formatPosition(e.position)));
    await store.close();
    await db.close();
  });

  it('restores up to a point in time into a new PGlite data directory', { timeout: 120_000 }, async () => {
    const dataDir = tempDir('kyo-cli-restore-pglite-');
    const run = await restore([
      '--from',
      root,
      '--backup',
      'incr',
      '--target',
      dataDir,
      '--to-time',
      events[2499]!.recordedAt.toISOString(),
    ]);
    const { code } = await run.exited;
    expect(run.output()).toMatch(/restored 2500 events/);
    expect(code).toBe(0);
    const db = await createPgliteDatabase({ dataDir: join(dataDir, 'pglite'), maintenance: false });
    await migrateEventStore(db);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events'))[0]!.n).toBe(2500);
    await db.close();
  });

  it('restores from S3 (a real s3rver) given as s3://bucket/prefix', { timeout: 120_000 }, async () => {
    const s3 = await startS3rver();
    try {
      const storage = createS3BackupStorage({
        bucket: s3.bucket,
        prefix: 'nightly',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await writeFixtureBackup(storage, { backupId: 'full', events: events.slice(0, 1200), eventsPerChunk: 500 });
      const url = await createTestDatabase(postgres.url!);
      const run = await restore(['--from', `s3://${s3.bucket}/nightly`, '--backup', 'full', '--target', url], {
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      });
      const { code } = await run.exited;
      expect(run.output()).toMatch(/restored 1200 events/);
      expect(code).toBe(0);
      expect(await eventCount(url)).toBe(1200);
    } finally {
      await s3.close();
    }
  });

  it('refuses an altered chunk, a missing backup and bad arguments, restoring nothing', { timeout: 120_000 }, async () => {
    const altered = tempDir('kyo-cli-altered-');
    const copy = directoryStorage(altered);
    await writeFixtureBackup(copy, { backupId: 'full', events: events.slice(0, 2000), eventsPerChunk: 500 });
    await alterChunk(altered, 'full', 'database-000003.ndjson.gz');
    const url = await createTestDatabase(postgres.url!);
    const run = await restore(['--from', altered, '--backup', 'full', '--target', url]);
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/restore failed: chunk database-000003.ndjson.gz: sha256 [0-9a-f]{64}, the manifest says/);
    expect(await eventCount(url)).toBe(0);

    const missing = await restore(['--from', root, '--backup', 'nope', '--target', url]);
    expect((await missing.exited).code).toBe(1);
    expect(missing.output()).toMatch(/backup nope is not in the backup storage/);

    const bad = await restore(['--from', root, '--backup', 'full', '--target', url, '--to-position', 'yesterday']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/--to-position must be <commit>.<prepare>/);
  });

  it('killed half-way: the service refuses the target, a second run restores it whole', { timeout: 240_000 }, async () => {
    const bigRoot = tempDir('kyo-cli-big-');
    const big = syntheticEvents(300_000);
    await writeFixtureBackup(directoryStorage(bigRoot), { backupId: 'big', events: big, eventsPerChunk: 20_000 });
    const url = await createTestDatabase(postgres.url!);
    const run = await restore(['--from', bigRoot, '--backup', 'big', '--target', url]);
    // Wait until the restore is writing (the progress bar has moved), then kill it.
    const deadline = Date.now() + 60_000;
    while (!/restoring .*\| [1-9]\d*\/300000 events/.test(run.output()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(run.output()).toMatch(/\/300000 events/);
    killGroup(run);
    await run.exited;

    const service = await runBuilt('main', [], {
      DATABASE_URL: url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATA_DIR: tempDir('kyo-cli-svc-'),
    });
    started.push(service);
    const { code } = await service.exited;
    expect(code).not.toBe(0);
    expect(service.output()).toMatch(/target of restore .* which has not finished/);
    expect(await eventCount(url)).toBe(0);

    const again = await restore(['--from', bigRoot, '--backup', 'big', '--target', url]);
    expect((await again.exited).code).toBe(0);
    expect(again.output()).toMatch(/restored 300000 events/);
    expect(await eventCount(url)).toBe(300_000);
    const db = createPgDatabase({ connectionString: url });
    await migrateEventStore(db); // the marker is gone: a service starts
    await db.close();
  });
});
