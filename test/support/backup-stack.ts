// The backup parts wired by hand on one database (PGlite, or PostgreSQL by URL): event store, bulk export,
// a storage (filesystem by default), and the runner's dependencies. Tests of the backup runner, the
// reader and validation use it without HTTP.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFilesystemBackupStorage } from '../../src/adapters/backups/filesystem-backup-storage.js';
import { createSqlEventExport } from '../../src/adapters/backups/sql-event-export.js';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { createPgliteDatabase } from '../../src/adapters/sql/pglite-database.js';
import type { BackupKey } from '../../src/commands/backups/index.js';
import { requestBackup, type RequestBackupInput } from '../../src/commands/backups/index.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import type { BackupStorage } from '../../src/ports/backup-storage.js';
import type { EventStore, RecordedEvent } from '../../src/ports/event-store.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import { runBackup, type BackupRunnerDeps } from '../../src/processes/backups/backup-runner.js';

export interface BackupStack {
  db: SqlDatabase;
  /** The PostgreSQL database's URL (undefined on PGlite). */
  databaseUrl?: string;
  eventStore: EventStore;
  dataDir: string;
  storage: BackupStorage;
  runner(overrides?: Partial<BackupRunnerDeps>): BackupRunnerDeps;
  /** Requests and runs a backup to its end in this process. */
  backup(tenantId: string, input: RequestBackupInput, overrides?: Partial<BackupRunnerDeps>): Promise<string>;
  /** Appends `count` events over `streams` streams of tenant `tenantId`, in appends of up to 100. */
  seed(tenantId: string, count: number, streams?: number): Promise<void>;
  readAllEvents(): Promise<RecordedEvent[]>;
  close(): Promise<void>;
}

export const contextOf = (tenantId: string, userId = 'alice', commandId: string = randomUUID()): CommandContext => ({
  tenantId,
  userId,
  commandId,
  correlationId: commandId,
});

export async function createBackupStack(
  options: { databaseUrl?: string; storage?: BackupStorage; key?: BackupKey; chunkEvents?: number } = {},
): Promise<BackupStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyo-backup-'));
  const db = options.databaseUrl
    ? createPgDatabase({ connectionString: options.databaseUrl, maxConnections: 8 })
    : await createPgliteDatabase({ dataDir: join(dataDir, 'pglite') });
  await migrateEventStore(db);
  const eventStore = createPostgresEventStore(db, { pollIntervalMs: 10 });
  const storage = options.storage ?? createFilesystemBackupStorage(join(dataDir, 'backups'));
  const commands = { eventStore, clock: () => new Date() };
  const runner = (overrides: Partial<BackupRunnerDeps> = {}): BackupRunnerDeps => ({
    commands,
    storage,
    eventExport: createSqlEventExport(db),
    ...(options.key ? { key: options.key } : {}),
    dataDir,
    excludedFromFiles: ['pglite', 'backups', 'kyo.pid'],
    chunkEvents: options.chunkEvents ?? 100,
    chunkFileBytes: 256 * 1024,
    ...overrides,
  });
  return {
    db,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    eventStore,
    dataDir,
    storage,
    runner,
    async backup(tenantId, input, overrides) {
      const context = contextOf(tenantId);
      const { backupId } = await requestBackup(commands, context, input);
      await runBackup(runner(overrides), {
        backupId,
        tenantId,
        causationId: context.commandId,
        correlationId: context.commandId,
        lastAttempt: true,
      });
      return backupId;
    },
    async seed(tenantId, count, streams = 10) {
      const ids = Array.from({ length: streams }, () => randomUUID());
      for (let written = 0; written < count;) {
        const size = Math.min(100, count - written);
        const stream = `seed-${ids[((written / 100) % streams) | 0]!}`;
        await eventStore.append(
          stream,
          Array.from({ length: size }, (_, i) => ({
            id: randomUUID(),
            type: 'Seeded',
            data: { n: written + i, text: `événement ${written + i} ✓`, nested: { list: [1, 2.5, null, true], empty: {} } },
            metadata: { tenantId, userId: 'seeder', occurredAt: new Date().toISOString() },
          })),
          { expectedRevision: 'any' },
        );
        written += size;
      }
    },
    async readAllEvents() {
      const events: RecordedEvent[] = [];
      let after;
      for (;;) {
        const page = await eventStore.readAll({ ...(after ? { after } : {}), maxCount: 5000 });
        events.push(...page.events);
        if (page.isEnd) return events;
        after = page.lastPosition;
      }
    },
    async close() {
      await eventStore.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
