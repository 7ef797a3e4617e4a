// A backup storage whose adapter is built on first use: the S3 adapter's SDK took a noticeable part of
// every start, also of the embedded default, which never touches S3.
import type { Readable } from 'node:stream';
import type { BackupObject, BackupStorage } from '../../ports/backup-storage.js';

export function lazyBackupStorage(
  kind: BackupStorage['kind'],
  load: () => Promise<BackupStorage>,
  location: (key: string) => string,
): BackupStorage {
  let loaded: Promise<BackupStorage> | undefined;
  const storage = () => (loaded ??= load());
  return {
    kind,
    location,
    put: async (key: string, body: Readable | Uint8Array) => (await storage()).put(key, body),
    get: async (key: string) => (await storage()).get(key),
    exists: async (key: string) => (await storage()).exists(key),
    async *list(prefix: string): AsyncGenerator<BackupObject> {
      yield* (await storage()).list(prefix);
    },
    delete: async (key: string) => (await storage()).delete(key),
  };
}
