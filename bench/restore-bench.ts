// Restore figures (#11): a backup of N events (category streams over 10 tenants, in the backup format:
// gzip NDJSON chunks with sha256 and a manifest) restored into an empty store, and a restore drill end to
// end (restore into a scratch database + rebuild every read model from the restored log and from the live
// log + compare). The backup is generated here, chunk by chunk, so memory stays flat whatever N.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesystemBackupStorage } from '../src/adapters/backups/filesystem-backup-storage.js';
import { bulkRestore } from '../src/adapters/event-store/bulk-restore.js';
import { createPostgresEventStore, migrateEventStore } from '../src/adapters/event-store/postgres-event-store.js';
import { createScratchStores } from '../src/adapters/event-store/scratch-store.js';
import { createPgDatabase } from '../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../src/adapters/sql/pglite-database.js';
import { encodeChunk, publishManifest, sha256Hex, toBackupEventRecord } from '../src/commands/backups/index.js';
import { chainEvents } from '../src/commands/restores/restore-backup.js';
import { BACKUP_FORMAT_VERSION, chunkKey, chunkName, type BackupChunk, type BackupManifest } from '../src/domain/backups/index.js';
import type { BackupStorage } from '../src/ports/backup-storage.js';
import { formatPosition, type RecordedEvent } from '../src/ports/event-store.js';
import type { SqlDatabase } from '../src/ports/sql-database.js';
import { runRestoreDrill } from '../src/processes/restores/restore-drill.js';
import { batchProjector } from '../src/projections/batches/batch-projector.js';
import { categoryProjector } from '../src/projections/categories/category-projector.js';
import { templateProjector } from '../src/projections/templates/template-projector.js';

const log = (message: string) => process.stderr.write(`[bench] restores: ${message}\n`);
const CHUNK = 50_000;

/** Event i of the synthetic log: category k created (even i) then renamed (odd i). */
function syntheticChunk(from: number, count: number, ids: string[]): RecordedEvent[] {
  const base = Date.parse('2026-11-01T00:00:00Z');
  return Array.from({ length: count }, (_, j): RecordedEvent => {
    const i = from + j;
    const k = i >> 1;
    ids[k] ??= randomUUID();
    const categoryId = ids[k]!;
    const metadata = { tenantId: `tenant-${k % 10}`, userId: 'bench', occurredAt: new Date(base + i).toISOString() };
    return {
      id: randomUUID(),
      type: i % 2 === 0 ? 'CategoryCreated' : 'CategoryRenamed',
      streamId: `category-${categoryId}`,
      revision: BigInt(i % 2),
      position: { commit: 100_000n + BigInt(Math.floor(i / 10)), prepare: BigInt(i + 1) },
      data:
        i % 2 === 0
          ? { categoryId, name: `category ${k}`, description: 'made by the restore bench' }
          : { name: `renamed ${k}`, previousName: `category ${k}` },
      metadata,
      recordedAt: new Date(base + i),
    };
  });
}

export async function writeSyntheticBackup(storage: BackupStorage, backupId: string, events: number): Promise<BackupManifest> {
  const chunks: BackupChunk[] = [];
  const ids: string[] = [];
  let last = '0.0';
  for (let from = 0, index = 1; from < events; from += CHUNK, index++) {
    const slice = syntheticChunk(from, Math.min(CHUNK, events - from), ids);
    const stored = await encodeChunk(slice.map((e) => JSON.stringify(toBackupEventRecord(e))).join('\n'), undefined);
    const name = chunkName('database', index, false);
    await storage.put(chunkKey(backupId, name), stored);
    last = formatPosition(slice.at(-1)!.position);
    chunks.push({
      item: 'database',
      name,
      sha256: sha256Hex(stored),
      bytes: stored.length,
      events: slice.length,
      records: slice.length,
      firstPosition: formatPosition(slice[0]!.position),
      lastPosition: last,
    });
  }
  const manifest: BackupManifest = {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId,
    name: 'restore bench',
    type: 'database',
    scope: {},
    position: { from: '0.0', to: last },
    eventCount: events,
    chunks,
    encryption: null,
    createdAt: new Date().toISOString(),
    createdBy: 'bench',
    parentBackupId: null,
    failedItems: [],
  };
  await publishManifest(storage, manifest);
  return manifest;
}

async function timedRestore(db: SqlDatabase, storage: BackupStorage, manifest: BackupManifest) {
  const started = performance.now();
  const result = await bulkRestore(db, chainEvents(storage, [manifest], undefined, {}), {
    restoreId: randomUUID(),
    backupId: manifest.backupId,
  });
  const seconds = (performance.now() - started) / 1000;
  return { events: result.events, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(result.events / seconds) };
}

async function timedDrill(db: SqlDatabase, url: string | undefined, storage: BackupStorage, backupId: string) {
  const eventStore = createPostgresEventStore(db);
  const started = performance.now();
  const outcome = await runRestoreDrill(
    {
      storage,
      eventStore,
      projectors: [categoryProjector, templateProjector(), batchProjector],
      scratchStores: createScratchStores(db, url),
    },
    backupId,
    `bench_${Date.now()}`,
  );
  await eventStore.close();
  return { passed: outcome.passed, tablesCompared: outcome.tables, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) };
}

export async function benchRestores(serverUrl: string, options: { events: number; embeddedEvents: number }) {
  const root = mkdtempSync(join(tmpdir(), 'kyo-restore-bench-'));
  const storage = createFilesystemBackupStorage(root);
  try {
    log(`writing a backup of ${options.events} events`);
    const manifest = await writeSyntheticBackup(storage, 'bench-full', options.events);
    const admin = createPgDatabase({ connectionString: serverUrl, maxConnections: 2 });
    const database = `kyo_restore_bench_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    const db = createPgDatabase({ connectionString: url.toString() });
    log('postgres: restore into an empty database');
    const restore = await timedRestore(db, storage, manifest);
    log(`postgres: restore ${JSON.stringify(restore)}`);
    await migrateEventStore(db);
    log('postgres: drill end to end (the restored database serves as the live store)');
    const drill = await timedDrill(db, url.toString(), storage, manifest.backupId);
    log(`postgres: drill ${JSON.stringify(drill)}`);
    await db.close();
    await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
    await admin.close();

    log(`pglite: backup of ${options.embeddedEvents} events, restore and drill`);
    const small = await writeSyntheticBackup(storage, 'bench-embedded', options.embeddedEvents);
    const embedded = await createPgliteDatabase({ maintenance: false });
    const embeddedRestore = await timedRestore(embedded, storage, small);
    await migrateEventStore(embedded);
    const embeddedDrill = await timedDrill(embedded, undefined, storage, small.backupId);
    await embedded.close();
    return { postgres: { restore, drill }, pglite: { restore: embeddedRestore, drill: embeddedDrill } };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
