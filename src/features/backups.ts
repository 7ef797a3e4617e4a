// Backups: the backup aggregate's read model, the process manager and the worker that runs (and deletes)
// backups, and the routes. Storage is S3 when S3_BUCKET is set, else the filesystem under DATA_DIR/backups.
import { join } from 'node:path';
import { exportApiKeys } from '../adapters/auth/api-key-store.js';
import { createFilesystemBackupStorage } from '../adapters/backups/filesystem-backup-storage.js';
import { createReadAllEventExport } from '../adapters/backups/read-all-event-export.js';
import type { S3BackupStorageOptions } from '../adapters/backups/s3-backup-storage.js';
import { lazyBackupStorage } from '../adapters/backups/lazy-backup-storage.js';
import { s3Keys } from '../adapters/backups/s3-keys.js';
import { createSqlEventExport } from '../adapters/backups/sql-event-export.js';
import { LOCK_FILE_NAME } from '../adapters/sql/data-directory-lock.js';
import { parseBackupKey, type BackupKey } from '../commands/backups/index.js';
import type { Config } from '../config.js';
import { backupRoutes } from '../http/backups/backup-routes.js';
import type { BackupStorage } from '../ports/backup-storage.js';
import type { EventExport } from '../ports/event-export.js';
import { BACKUP_QUEUE, backupProcessManager, backupWorker } from '../processes/backups/backup-process.js';
import type { BackupRunnerDeps } from '../processes/backups/backup-runner.js';
import { backupProjector } from '../projections/backups/backup-projector.js';
import { featureRoutes, type FeatureDeps, type FeatureModule } from './feature-module.js';

/** The data directory's entries that a files backup leaves out: the embedded database, the backups, the lock. */
export const FILES_EXCLUDED = ['pglite', 'backups', LOCK_FILE_NAME];

export function backupStorageFrom(config: Config): BackupStorage {
  if (!config.S3_BUCKET) return createFilesystemBackupStorage(join(config.dataDir, 'backups'));
  const options: S3BackupStorageOptions = {
    bucket: config.S3_BUCKET,
    prefix: config.S3_PREFIX,
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
    ...(config.S3_SERVER_SIDE_ENCRYPTION === 'none' ? {} : { serverSideEncryption: config.S3_SERVER_SIDE_ENCRYPTION }),
    ...(config.S3_SSE_KMS_KEY_ID ? { kmsKeyId: config.S3_SSE_KMS_KEY_ID } : {}),
  };
  // The AWS SDK is loaded on the first call to S3, not at every start.
  return lazyBackupStorage(
    's3',
    async () => (await import('../adapters/backups/s3-backup-storage.js')).createS3BackupStorage(options),
    s3Keys(options.bucket, options.prefix).location,
  );
}

export const backupKeyFrom = (config: Config): BackupKey | undefined =>
  config.BACKUP_ENCRYPTION_KEY ? parseBackupKey(config.BACKUP_ENCRYPTION_KEY) : undefined;

/** The bulk reader of the log: SQL on PostgreSQL/PGlite, readAll on EventStoreDB. */
export const eventExportFrom = (deps: Pick<FeatureDeps, 'config' | 'db' | 'eventStore'>): EventExport =>
  deps.config.EVENTSTORE_CONNECTION_STRING ? createReadAllEventExport(deps.eventStore) : createSqlEventExport(deps.db);

export function backupRunnerDeps(deps: FeatureDeps, storage: BackupStorage): BackupRunnerDeps {
  const key = backupKeyFrom(deps.config);
  return {
    commands: deps.commands,
    storage,
    eventExport: eventExportFrom(deps),
    ...(key ? { key } : {}),
    dataDir: deps.config.dataDir,
    excludedFromFiles: FILES_EXCLUDED,
    apiKeys: (tenantId) => exportApiKeys(deps.db, tenantId),
    chunkEvents: deps.config.BACKUP_CHUNK_EVENTS,
    chunkFileBytes: 16 * 1024 * 1024,
  };
}

export const backupsFeature: FeatureModule = {
  name: 'backups',
  create: (deps) => {
    const storage = backupStorageFrom(deps.config);
    const runner = backupRunnerDeps(deps, storage);
    return {
      projectors: [backupProjector],
      processManagers: [backupProcessManager],
      jobWorkers: [
        { queue: BACKUP_QUEUE, handler: backupWorker(runner), concurrency: 1, perGroup: deps.config.BACKUP_JOBS_PER_TENANT, long: true },
      ],
      routes: ({ readYourWrites }) => [
        featureRoutes(backupRoutes, {
          commands: deps.commands,
          db: deps.db,
          readYourWrites,
          storage,
          ...(runner.key ? { key: runner.key } : {}),
        }),
      ],
    };
  },
};
