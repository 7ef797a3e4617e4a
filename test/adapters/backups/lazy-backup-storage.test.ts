// The S3 storage behind a lazy wrapper: the adapter (and its SDK) is built on the first call, once, and
// every call reaches it; its location is known without building it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFilesystemBackupStorage } from '../../../src/adapters/backups/filesystem-backup-storage.js';
import { lazyBackupStorage } from '../../../src/adapters/backups/lazy-backup-storage.js';
import { s3Keys } from '../../../src/adapters/backups/s3-keys.js';

const root = mkdtempSync(join(tmpdir(), 'kyo-lazy-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lazy backup storage', () => {
  it('builds the adapter on first use, once, and passes every call through', async () => {
    let loads = 0;
    const storage = lazyBackupStorage(
      's3',
      async () => (loads++, createFilesystemBackupStorage(root)),
      s3Keys('bucket', '/team/').location,
    );
    expect(storage.location('a/b.json')).toBe('s3://bucket/team/a/b.json');
    expect(loads).toBe(0);
    await storage.put('a/b.json', new TextEncoder().encode('{}'));
    expect(await storage.exists('a/b.json')).toBe(true);
    const listed = [];
    for await (const object of storage.list('a/')) listed.push(object.key);
    expect(listed).toEqual(['a/b.json']);
    await storage.delete('a/b.json');
    expect(await storage.exists('a/b.json')).toBe(false);
    expect(loads).toBe(1);
  });
});
