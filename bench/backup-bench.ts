// Backups: seed N events straight into the event store's tables, then time a full database backup to the
// local filesystem and to an in-process s3rver, and an incremental backup of the last 10,000 events,
// sampling RSS and heap on the way (memory flat: the last quarter of the run holds no more than the first,
// the heap after a forced GC is back where it started, and the peak does not grow with N). The samples are
// taken on a timer and after every export page, since PGlite runs in this thread and can starve the timer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesystemBackupStorage } from '../src/adapters/backups/filesystem-backup-storage.js';
import { createS3BackupStorage } from '../src/adapters/backups/s3-backup-storage.js';
import { createSqlEventExport } from '../src/adapters/backups/sql-event-export.js';
import { readManifest, requestBackup } from '../src/commands/backups/index.js';
import type { BackupStorage } from '../src/ports/backup-storage.js';
import type { EventExport } from '../src/ports/event-export.js';
import type { EventStore } from '../src/ports/event-store.js';
import type { SqlDatabase } from '../src/ports/sql-database.js';
import { runBackup } from '../src/processes/backups/backup-runner.js';
import { startS3rver } from '../test/support/s3rver.js';
import { seedEvents } from './projection-bench.js';

export interface BackupBenchOptions {
  readonly events: number;
  readonly s3?: boolean;
  readonly chunkEvents?: number;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** The export, sampling memory after each page it returns. */
const sampledExport = (inner: EventExport, sample: () => void): EventExport => ({
  open(range) {
    const reader = inner.open(range);
    return {
      async next(max) {
        const page = await reader.next(max);
        sample();
        return page;
      },
    };
  },
});

async function timedBackup(db: SqlDatabase, store: EventStore, storage: BackupStorage, incremental: boolean, chunkEvents: number) {
  const context = { tenantId: 'bench', userId: 'bench', commandId: crypto.randomUUID(), correlationId: 'bench' };
  const commands = { eventStore: store, clock: () => new Date() };
  const { backupId } = await requestBackup(commands, context, { name: 'bench', type: 'database', scope: {}, incremental });
  gc();
  const { rss: rssStart, heapUsed: heapStart } = process.memoryUsage();
  const samples: { rss: number; heap: number }[] = [];
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ rss, heap: heapUsed });
  };
  const sampler = setInterval(sample, 50);
  const started = performance.now();
  try {
    await runBackup(
      {
        commands,
        storage,
        eventExport: sampledExport(createSqlEventExport(db), sample),
        dataDir: tmpdir(),
        excludedFromFiles: [],
        chunkEvents,
        chunkFileBytes: 16 << 20,
      },
      { backupId, tenantId: 'bench', causationId: context.commandId, correlationId: 'bench', lastAttempt: true },
    );
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  gc();
  const heapAfterGc = process.memoryUsage().heapUsed;
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const manifest = await readManifest(storage, backupId);
  if (!manifest) throw new Error(`bench backup ${backupId} was not published`);
  const bytes = manifest.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
  return {
    events: manifest.eventCount,
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: Math.round(manifest.eventCount / seconds),
    chunks: manifest.chunks.length,
    storedMiB: mib(bytes),
    rssStartMiB: mib(rssStart),
    rssPeakMiB: mib(Math.max(rssStart, ...samples.map((s) => s.rss))),
    rssFirstQuarterMiB: mib(avg(samples.slice(0, quarter).map((s) => s.rss))),
    rssLastQuarterMiB: mib(avg(samples.slice(-quarter).map((s) => s.rss))),
    heapStartMiB: mib(heapStart),
    heapFirstQuarterMiB: mib(avg(samples.slice(0, quarter).map((s) => s.heap))),
    heapLastQuarterMiB: mib(avg(samples.slice(-quarter).map((s) => s.heap))),
    heapAfterGcMiB: mib(heapAfterGc),
  };
}

/** 10,000 more events on fresh streams (the seed's streams are full). */
async function appendTail(db: SqlDatabase, events: number) {
  await db.query(
    `INSERT INTO es_events (stream_id, stream_revision, event_id, event_type, data, metadata)
     SELECT 'benchtail-' || (s / 100), s % 100, gen_random_uuid(), 'TemplateUpdated',
            jsonb_build_object('templateId', s, 'version', s % 100, 'name', 'Template ' || s, 'defaultDuration', 90),
            jsonb_build_object('tenantId', 'tenant-' || (s % 50), 'userId', 'u', 'schemaVersion', 1)
       FROM generate_series(0, $1::int - 1) s`,
    [events],
  );
}

export async function benchBackups(db: SqlDatabase, store: EventStore, options: BackupBenchOptions) {
  const chunkEvents = options.chunkEvents ?? 50_000;
  await seedEvents(db, options.events);
  const dir = await mkdtemp(join(tmpdir(), 'kyo-bench-backups-'));
  const result: Record<string, unknown> = { seededEvents: options.events, chunkEvents };
  try {
    const filesystem = createFilesystemBackupStorage(dir);
    result.fullToFilesystem = await timedBackup(db, store, filesystem, false, chunkEvents);
    if (options.s3) {
      const server = await startS3rver();
      const s3 = createS3BackupStorage({
        bucket: server.bucket,
        endpoint: server.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      try {
        result.fullToS3rver = await timedBackup(db, store, s3, false, chunkEvents);
      } finally {
        s3.client.destroy();
        await server.close();
      }
    }
    await appendTail(db, 10_000);
    result.incrementalLast10000ToFilesystem = await timedBackup(db, store, filesystem, true, chunkEvents);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}
