// Backups: the backup aggregate's read model, the process manager and the worker that runs a backup, and
// the routes. Storage is S3 when S3_BUCKET is set, else the filesystem under DATA_DIR/backups.
import { join } from 'node:path';
import { createFilesystemBackupStorage } from '../adapters/backups/filesystem-backup-storage.js';
import { createReadAllEventExport } from '../adapters/backups/read-all-event-export.js';
import { createSqlEventExport } from '../adapters/backups/sql-event-export.js';
import { parseBackupKey, type BackupKey } from '../commands/backups/index.js';
import type { Config } from '../config.js';
import type { BackupStorage } from '../ports/backup-storage.js';
import type { EventExport } from '../ports/event-export.js';
import type { FeatureDeps, FeatureModule } from './feature-module.js';

export function backupStorageFrom(config: Config): BackupStorage {
  return createFilesystemBackupStorage(join(config.dataDir, 'backups'));
}

export const backupKeyFrom = (config: Config): BackupKey | undefined =>
  config.BACKUP_ENCRYPTION_KEY ? parseBackupKey(config.BACKUP_ENCRYPTION_KEY) : undefined;

/** The bulk reader of the log: SQL on PostgreSQL/PGlite, readAll on EventStoreDB. */
export const eventExportFrom = (deps: Pick<FeatureDeps, 'config' | 'db' | 'eventStore'>): EventExport =>
  deps.config.EVENTSTORE_CONNECTION_STRING ? createReadAllEventExport(deps.eventStore) : createSqlEventExport(deps.db);

export const backupsFeature: FeatureModule = {
  name: 'backups',
  create: () => ({}),
};
