// Where the restore command reads backups from: `s3://bucket/prefix`, with the endpoint, region, path
// style and credentials from the S3_* settings (as the service uses them).
import { createS3BackupStorage } from '../adapters/backups/s3-backup-storage.js';
import type { Config } from '../config.js';
import type { BackupStorage } from '../ports/backup-storage.js';

export function openS3Storage(url: string, config: Config): BackupStorage {
  const parsed = new URL(url);
  const prefix = decodeURIComponent(parsed.pathname.replace(/^\/+/, ''));
  return createS3BackupStorage({
    bucket: parsed.hostname,
    ...(prefix ? { prefix } : {}),
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
  });
}
