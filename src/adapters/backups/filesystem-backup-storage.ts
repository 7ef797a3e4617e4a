// Backup storage on the local filesystem (the embedded default, DATA_DIR/backups). An object is written to
// a temporary file in the same directory, flushed, then renamed over its key: a reader sees the whole
// object or none, also after a crash (a leftover `.tmp-*` file is never listed and is swept by `put`).
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupObjectNotFoundError, BackupStorageError, type BackupObject, type BackupStorage } from '../../ports/backup-storage.js';

const TEMP_MARK = '.tmp-';

/** Keys are relative paths of plain segments: no `..`, no absolute paths, no empty segments. */
function checkKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..'))
    throw new BackupStorageError(`invalid backup key ${JSON.stringify(key)}`, key);
}

const isNotFound = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

export function createFilesystemBackupStorage(root: string): BackupStorage {
  const pathOf = (key: string) => {
    checkKey(key);
    return join(root, ...key.split('/'));
  };

  async function* walk(dir: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(path);
      else if (entry.isFile() && !entry.name.includes(TEMP_MARK)) yield path;
    }
  }

  return {
    kind: 'filesystem',
    location(key) {
      pathOf(key); // refuses a key that leaves the root
      // The key itself: the root is a host path, which no answer or event carries.
      return key;
    },

    async put(key, body) {
      const target = pathOf(key);
      // Owner-only: a backup is the whole log (and maybe key material); nobody else on the host reads it.
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const temp = `${target}${TEMP_MARK}${randomUUID()}`;
      try {
        const source = body instanceof Uint8Array ? Readable.from([body]) : body;
        await pipeline(source, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
        const handle = await open(temp, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error instanceof BackupStorageError
          ? error
          : new BackupStorageError(`writing ${key}: ${(error as Error).message}`, key, { cause: error });
      }
      return { key, bytes: (await stat(target)).size };
    },

    async get(key) {
      const path = pathOf(key);
      try {
        await stat(path);
      } catch (error) {
        if (isNotFound(error)) throw new BackupObjectNotFoundError(key);
        throw error;
      }
      return createReadStream(path);
    },

    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },

    async *list(prefix): AsyncGenerator<BackupObject> {
      for await (const path of walk(root)) {
        const key = relative(root, path).split(sep).join('/');
        if (key.startsWith(prefix)) yield { key, bytes: (await stat(path)).size };
      }
    },

    async delete(key) {
      try {
        await unlink(pathOf(key));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
}
