// PGlite serves one process: a second process that opens the same data directory works on a copy the
// first never sees, and the two overwrite each other's files. So whoever opens the embedded database
// first writes its pid into DATA_DIR/kyo.pid, and everyone else is refused while that process lives.
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'kyo.pid';

export interface DataDirectoryLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Safe to call more than once. */
  release(): void;
}

export class DataDirectoryHeldError extends Error {
  override readonly name = 'DataDirectoryHeldError';
  constructor(
    readonly directory: string,
    readonly holderPid: number,
    readonly holderRole: string,
  ) {
    super(`the embedded database in ${directory} is in use by the ${holderRole} (pid ${holderPid}); PGlite serves one process at a time`);
  }
}

/**
 * Takes the directory for this process, or throws DataDirectoryHeldError naming the process that has it.
 * A lock left by a process that is gone (killed, crashed) is taken over. The file is written aside and
 * hard-linked into place, so it never exists half written and two processes cannot both create it (two
 * taking over the same stale file in the same instant could both win; that needs a crash first).
 */
export function lockDataDirectory(directory: string, role: string): DataDirectoryLock {
  mkdirSync(directory, { recursive: true });
  const file = join(directory, LOCK_FILE_NAME);
  const draft = `${file}.${process.pid}`;
  writeFileSync(draft, `${process.pid}\n${role}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(draft, file);
        return { file, release: () => releaseIfOurs(file) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      // Our own pid in the file is a leftover too: a container restarts its entry process as pid 1 again.
      if (holder && holder.pid !== process.pid && isRunning(holder.pid))
        throw new DataDirectoryHeldError(directory, holder.pid, holder.role);
      rmSync(file, { force: true });
    }
    throw new Error(`could not lock ${directory}: ${file} keeps reappearing`);
  } finally {
    rmSync(draft, { force: true });
  }
}

function readHolder(file: string): { pid: number; role: string } | undefined {
  try {
    const [pid, role] = readFileSync(file, 'utf8').split('\n');
    const parsed = Number(pid);
    return Number.isSafeInteger(parsed) && parsed > 0 ? { pid: parsed, role: role || 'process' } : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfOurs(file: string): void {
  if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
}
