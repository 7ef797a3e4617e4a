// The files part of a backup written back into a data directory (the restore target's `files`): each piece
// at its offset, with the file's mode, never outside the directory and never into its embedded database.
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { BackupFileRecord } from '../../domain/backups/index.js';
import type { RestoreFilesTarget } from '../../ports/restore-target.js';

export function dataDirectoryFiles(dataDir: string): RestoreFilesTarget {
  const root = resolve(dataDir);
  const written = new Set<string>();
  return {
    async write(record: BackupFileRecord) {
      const path = resolve(root, ...record.path.split('/'));
      const inside = relative(root, path);
      if (!inside || inside.startsWith('..') || inside.split(sep)[0] === 'pglite')
        throw new Error(`the backup names a file outside the data directory: ${record.path}`);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const handle = await open(path, written.has(path) ? 'r+' : 'w', record.mode & 0o777);
      try {
        await handle.write(Buffer.from(record.data, 'base64'), 0, undefined, record.offset);
        await handle.chmod(record.mode & 0o777);
      } finally {
        await handle.close();
      }
      written.add(path);
    },
    written: () => [...written].map((path) => relative(root, path)),
    async undo() {
      for (const path of written) await rm(join(path), { force: true });
      written.clear();
    },
  };
}
