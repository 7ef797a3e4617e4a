// The backup storage contract against the filesystem adapter and the S3 adapter on a real S3-compatible
// server (s3rver, path-style, in-process), with and without a key prefix.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFilesystemBackupStorage } from '../../../src/adapters/backups/filesystem-backup-storage.js';
import { createS3BackupStorage } from '../../../src/adapters/backups/s3-backup-storage.js';
import { BackupStorageError } from '../../../src/ports/backup-storage.js';
import { startS3rver } from '../../support/s3rver.js';
import { backupStorageContract } from './backup-storage.contract.js';

backupStorageContract('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kyo-fs-backups-'));
  return { storage: createFilesystemBackupStorage(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

for (const prefix of ['', 'team/kyo']) {
  backupStorageContract(`S3 on s3rver, prefix "${prefix}"`, async () => {
    const server = await startS3rver();
    const storage = createS3BackupStorage({
      bucket: server.bucket,
      prefix,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      partSize: 5 * 1024 * 1024,
    });
    return { storage, cleanup: async () => (storage.client.destroy(), await server.close()) };
  });
}

describe('filesystem backup storage', () => {
  it('names where a key lives by the key itself, never by a host path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kyo-fs-backups-'));
    try {
      const storage = createFilesystemBackupStorage(root);
      expect(storage.location('b1/manifest.json')).toBe('b1/manifest.json');
      expect(() => storage.location('../x')).toThrow(BackupStorageError);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses keys that leave its root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kyo-fs-backups-'));
    try {
      const storage = createFilesystemBackupStorage(root);
      for (const key of ['../x', '/etc/passwd', 'a//b', 'a/./b', ''])
        await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(BackupStorageError);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
