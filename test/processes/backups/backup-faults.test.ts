// Faults during a backup, with real servers and a real process: S3 (s3rver) stopped mid-upload fails the
// backup cleanly on the last attempt (nothing listed) or, on an earlier attempt, the retry resumes once
// S3 is back; a worker process SIGKILLed mid-backup (PostgreSQL) is resumed by the next run, which keeps
// the chunks already recorded and writes each remaining one once.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3BackupStorage } from '../../../src/adapters/backups/s3-backup-storage.js';
import {
  listPublishedBackupIds,
  loadBackup,
  readBackupEvents,
  readManifest,
  requestBackup,
  validateBackup,
} from '../../../src/commands/backups/index.js';
import { backupStreamId, type BackupChunk } from '../../../src/domain/backups/index.js';
import type { BackupStorage } from '../../../src/ports/backup-storage.js';
import { comparePositions, formatPosition, parsePosition } from '../../../src/ports/event-store.js';
import { runBackup } from '../../../src/processes/backups/backup-runner.js';
import { createBackupStack, contextOf, type BackupStack } from '../../support/backup-stack.js';
import { startS3rver, type S3rverHandle } from '../../support/s3rver.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();

describe('S3 unreachable mid-backup (s3rver stopped)', () => {
  let s3: S3rverHandle;
  let stack: BackupStack;
  let storage: BackupStorage & { client: { destroy(): void } };
  let puts = 0;
  let stopAfter = Infinity;
  beforeAll(async () => {
    s3 = await startS3rver();
    const s3Storage = createS3BackupStorage({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 2,
      connectionTimeoutMs: 1000,
    });
    // Stops the real server while the n-th chunk is being uploaded, once the chunks before it are stored
    // (a backup uploads chunks two at a time).
    const earlier: Promise<unknown>[] = [];
    storage = {
      ...s3Storage,
      put: async (key, body) => {
        if (++puts === stopAfter) {
          await Promise.allSettled(earlier);
          await s3.stop();
        }
        const put = s3Storage.put(key, body);
        earlier.push(put);
        return put;
      },
    };
    stack = await createBackupStack({ storage, chunkEvents: 50 });
    await stack.seed('acme', 1000);
  });
  afterAll(async () => {
    storage?.client.destroy();
    await stack?.close();
    await s3?.close();
  });

  const start = async () => {
    const context = contextOf('acme');
    const { backupId } = await requestBackup(stack.runner().commands, context, { name: 's3', type: 'database', scope: {} });
    return { backupId, run: { backupId, tenantId: 'acme', causationId: context.commandId, correlationId: context.commandId } };
  };

  it('on the last attempt the backup fails with the reason and nothing is listed', async () => {
    puts = 0;
    stopAfter = 6;
    const { backupId, run } = await start();
    await runBackup(stack.runner(), { ...run, lastAttempt: true });
    const { state } = await loadBackup(stack.runner().commands, 'acme', backupId);
    expect(state.status).toBe('failed');
    const events = await stack.eventStore.readStream(backupStreamId(backupId));
    expect(String(events.find((e) => e.type === 'BackupFailed')?.data.reason)).toMatch(/s3 put/);
    await s3.start();
    expect(await listPublishedBackupIds(stack.storage)).toEqual([]);
    expect(await readManifest(stack.storage, backupId)).toBeUndefined();
  });

  it('on an earlier attempt the error propagates; once S3 is back the retry resumes and completes', async () => {
    puts = 0;
    stopAfter = 8;
    const { backupId, run } = await start();
    await expect(runBackup(stack.runner(), { ...run, lastAttempt: false })).rejects.toThrow(/s3 put/);
    const before = (await loadBackup(stack.runner().commands, 'acme', backupId)).state;
    expect(before.status).toBe('running');
    expect(before.chunks.length).toBe(7);
    await s3.start();
    expect(await readManifest(stack.storage, backupId)).toBeUndefined();
    stopAfter = Infinity;
    await runBackup(stack.runner(), { ...run, lastAttempt: false });
    const manifest = (await readManifest(stack.storage, backupId))!;
    expect(manifest.chunks.slice(0, 7)).toEqual(before.chunks);
    expect((await validateBackup(stack.storage, manifest)).valid).toBe(true);
    let count = 0;
    for await (const _ of readBackupEvents(stack.storage, manifest)) count++;
    expect(count).toBe(manifest.eventCount);
    expect(await listPublishedBackupIds(stack.storage)).toEqual([backupId]);
  });
});

describe.skipIf(!postgres.url)('a backup worker process killed mid-backup (PostgreSQL)', () => {
  let stack: BackupStack;
  beforeAll(async () => {
    stack = await createBackupStack({ databaseUrl: await createTestDatabase(postgres.url!), chunkEvents: 50 });
    await stack.seed('acme', 4000);
  });
  afterAll(async () => stack?.close());

  it('is resumed by the next run: recorded chunks are kept, the rest written once, the backup complete', async () => {
    const context = contextOf('acme');
    const { backupId } = await requestBackup(stack.runner().commands, context, { name: 'crash', type: 'database', scope: {} });
    const chunksRecorded = async () =>
      (await stack.eventStore.readStream(backupStreamId(backupId))).filter((e) => e.type === 'BackupChunkWritten').length;
    const child = spawn(
      process.execPath,
      [
        // One process (tsx as a loader, not its CLI, which runs the script in a child that SIGKILL would miss).
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures/backup-child.ts'),
        stack.databaseUrl!,
        join(stack.dataDir, 'backups'),
        backupId,
        'acme',
        context.commandId,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
    const deadline = Date.now() + 60_000;
    while ((await chunksRecorded()) < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    expect(output).not.toContain('finished');
    // Nothing runs on after the kill: the count of recorded chunks stays put.
    const afterKill = await chunksRecorded();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await chunksRecorded()).toBe(afterKill);

    const before = (await loadBackup(stack.runner().commands, 'acme', backupId)).state;
    expect(before.status).toBe('running');
    expect(before.chunks.length).toBeGreaterThanOrEqual(10);
    expect(before.chunks.length).toBeLessThan(80);
    expect(await readManifest(stack.storage, backupId)).toBeUndefined();

    await runBackup(stack.runner(), {
      backupId,
      tenantId: 'acme',
      causationId: context.commandId,
      correlationId: context.commandId,
      lastAttempt: true,
    });
    const manifest = (await readManifest(stack.storage, backupId))!;
    expect(manifest.chunks.slice(0, before.chunks.length)).toEqual(before.chunks);
    const names = manifest.chunks.map((chunk: BackupChunk) => chunk.name);
    expect(names).toEqual(names.map((_, i) => `database-${String(i + 1).padStart(6, '0')}.ndjson.gz`));
    expect(await validateBackup(stack.storage, manifest)).toMatchObject({ valid: true, errors: [], warnings: [] });
    const positions: string[] = [];
    for await (const event of readBackupEvents(stack.storage, manifest)) positions.push(event.position);
    const end = parsePosition(manifest.position.to)!;
    const expected = (await stack.readAllEvents())
      .filter((e) => comparePositions(e.position, end) <= 0)
      .map((e) => formatPosition(e.position));
    expect(positions).toEqual(expected);
    expect(positions.length).toBeGreaterThanOrEqual(4000);
  });
});
