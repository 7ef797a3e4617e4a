// The service killed (SIGKILL, a real process: the built service as `npm start` runs it) in the middle of a restore and of a restore
// drill, on real PostgreSQL. The restore's target is left empty with only its marker (nothing
// half-restored is served); once the service is back, the job's lease runs out, a second run starts over
// into the same target and completes. The drill, killed with its scratch database made, is run again by
// its job and ends passed instead of staying `running`.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFilesystemBackupStorage } from '../../../src/adapters/backups/filesystem-backup-storage.js';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import { writeFixtureBackup } from '../../support/backup-fixtures.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { freePort, killGroup, runBuilt, waitForHealth, type StartedProcess } from '../../packaging/processes.js';

const postgres = postgresService();
const started: StartedProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const process of started) killGroup(process);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function syntheticEvents(count: number): RecordedEvent[] {
  const base = Date.parse('2026-11-01T00:00:00Z');
  const revisions = new Map<string, bigint>();
  return Array.from({ length: count }, (_, i) => {
    const streamId = `order-${i % 997}`;
    const revision = revisions.get(streamId) ?? 0n;
    revisions.set(streamId, revision + 1n);
    return {
      id: randomUUID(),
      type: 'Placed',
      streamId,
      revision,
      position: { commit: 900_000n + BigInt(Math.floor(i / 3)), prepare: BigInt(i + 1) },
      data: { i, note: 'x'.repeat(200) },
      metadata: { tenantId: i % 2 ? 'a' : 'b' },
      recordedAt: new Date(base + i * 10),
    };
  });
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const db = createPgDatabase({ connectionString: url });
  try {
    return await db.query<T>(sql);
  } finally {
    await db.close();
  }
}

describe.skipIf(!postgres.url)('restores and drills survive a killed service (real processes, PostgreSQL)', () => {
  async function service(dataDir: string, databaseUrl: string) {
    const port = await freePort();
    const npm = await runBuilt('main', [], {
      DATA_DIR: dataDir,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      BACKUP_CHUNK_EVENTS: '100',
      // The killed run's job is taken up again once its lease runs out: 15 s instead of the default minute.
      JOB_LEASE_MS: '15000',
    });
    started.push(npm);
    await waitForHealth(port, Date.now(), 150_000, npm);
    const key = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer
      return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
    };
    return { npm, call };
  }

  it('a restore killed mid-run leaves an empty target with its marker, then a second run completes it', { timeout: 360_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-restore-kill-'));
    dirs.push(dataDir);
    const live = await createTestDatabase(postgres.url!);
    const target = await createTestDatabase(postgres.url!);
    const backupId = randomUUID();
    const events = syntheticEvents(120_000);
    await writeFixtureBackup(createFilesystemBackupStorage(join(dataDir, 'backups')), { backupId, events, eventsPerChunk: 5000 });

    const first = await service(dataDir, live);
    const accepted = await first.call('POST', `/v1/backups/${backupId}/restore`, { target: { databaseUrl: target } });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const { restoreId } = accepted.body;
    await until(
      async () => {
        const { body } = await first.call('GET', `/v1/restores/${restoreId}`);
        return body?.eventsRestored > 0 ? body : undefined;
      },
      'the restore to make progress',
      120_000,
    );
    killGroup(first.npm);
    await first.npm.exited;

    // Nothing half-restored: the transaction died with the process; the marker says a restore is unfinished.
    expect(await query<{ n: string }>(target, 'SELECT count(*)::text AS n FROM es_events')).toEqual([{ n: '0' }]);
    expect((await query<{ restore_id: string }>(target, 'SELECT restore_id FROM es_restore_in_progress'))[0]!.restore_id).toBe(restoreId);

    const second = await service(dataDir, live);
    const done = await until(
      async () => {
        const { body } = await second.call('GET', `/v1/restores/${restoreId}`);
        return body && !['queued', 'running'].includes(body.status) ? body : undefined;
      },
      'the restore to finish after the restart',
      240_000,
    );
    expect(done).toMatchObject({ status: 'completed', eventsRestored: events.length, runs: 2, error: null });
    expect(await query<{ n: string }>(target, 'SELECT count(*)::text AS n FROM es_events')).toEqual([{ n: String(events.length) }]);
    expect(await query(target, 'SELECT * FROM es_restore_in_progress')).toEqual([]);
    killGroup(second.npm);
    await second.npm.exited;
  });

  it('a drill killed mid-run is run again by its job and ends passed, not running', { timeout: 360_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kyo-drill-kill-'));
    dirs.push(dataDir);
    const live = await createTestDatabase(postgres.url!);
    const first = await service(dataDir, live);
    for (let i = 0; i < 40; i++) expect((await first.call('POST', '/v1/categories', { name: `Category ${i}` })).status).toBe(201);
    const backup = await first.call('POST', '/v1/backups', { name: 'nightly', type: 'database', scope: { allTenants: true } });
    expect(backup.status).toBe(202);
    const { backupId } = backup.body;
    await until(
      async () => ((await first.call('GET', `/v1/backups/${backupId}`)).body?.status === 'completed' ? true : undefined),
      'the backup',
      120_000,
    );
    const drill = await first.call('POST', `/v1/backups/${backupId}/drill`);
    expect(drill.status).toBe(202);
    const scratch = `kyo_drill_${String(drill.body.drillId).replaceAll('-', '')}`;
    await until(
      async () => ((await query(postgres.url!, `SELECT 1 FROM pg_database WHERE datname = '${scratch}'`)).length > 0 ? true : undefined),
      'the drill to make its scratch database',
      120_000,
    );
    killGroup(first.npm);
    await first.npm.exited;
    expect((await first.call('GET', `/v1/backups/${backupId}`).catch(() => undefined))?.status).toBeUndefined();

    const second = await service(dataDir, live);
    const done = await until(
      async () => {
        const { body } = await second.call('GET', `/v1/backups/${backupId}`);
        return body?.lastDrill && !['queued', 'running'].includes(body.lastDrill.status) ? body : undefined;
      },
      'the drill to finish after the restart',
      240_000,
    );
    expect(done.lastDrill).toMatchObject({ drillId: drill.body.drillId, status: 'passed' });
    expect(await query(postgres.url!, `SELECT 1 FROM pg_database WHERE datname = '${scratch}'`)).toEqual([]);
    killGroup(second.npm);
    await second.npm.exited;
  });
});
