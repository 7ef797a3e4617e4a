// Where the restore command reads backups from: an S3 URL (s3://bucket/prefix), with the endpoint and
// credentials from the S3_* settings.
import type { Config } from '../config.js';
import type { BackupStorage } from '../ports/backup-storage.js';

export async function openS3Storage(url: string, _config: Config): Promise<BackupStorage> {
  const parsed = new URL(url);
  throw new Error(`S3 storage (${parsed.hostname}) is not available in this build`);
}
