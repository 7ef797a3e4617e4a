// The lock on the embedded data directory (#7.19): one process at a time, and a lock left by a process
// that is gone never locks anyone out.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirectoryHeldError, LOCK_FILE_NAME, lockDataDirectory } from '../../src/adapters/sql/data-directory-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kyo-lock-'));
  dirs.push(dir);
  return dir;
};

/** A pid that surely belongs to no running process: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('lockDataDirectory', () => {
  it('refuses while a live process holds the directory, naming it', () => {
    const dir = tempDir();
    // Our parent process is alive and is not us.
    writeFileSync(join(dir, LOCK_FILE_NAME), `${process.ppid}\nrunning service\n`);
    let thrown: unknown;
    try {
      lockDataDirectory(dir, 'keys:create command');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DataDirectoryHeldError);
    expect((thrown as DataDirectoryHeldError).holderPid).toBe(process.ppid);
    expect((thrown as Error).message).toContain(`running service (pid ${process.ppid})`);
    expect(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8')).toBe(`${process.ppid}\nrunning service\n`);
  });

  it('takes over a lock whose process is gone, and a leftover with its own pid', async () => {
    for (const leftover of [`${await deadPid()}\nrunning service\n`, `${process.pid}\nrunning service\n`, 'garbage']) {
      const dir = tempDir();
      writeFileSync(join(dir, LOCK_FILE_NAME), leftover);
      const lock = lockDataDirectory(dir, 'running service');
      expect(readFileSync(lock.file, 'utf8')).toBe(`${process.pid}\nrunning service\n`);
      lock.release();
      expect(existsSync(lock.file)).toBe(false);
    }
  });

  it('is held until released, and release leaves another holder alone', () => {
    const dir = tempDir();
    const lock = lockDataDirectory(dir, 'running service');
    // The same process asking again is a leftover by the rule above; another process is refused (covered
    // with real processes in create-api-key.test.ts). Here: release does not delete someone else's file.
    writeFileSync(lock.file, `${process.ppid}\nrunning service\n`);
    lock.release();
    expect(readFileSync(lock.file, 'utf8')).toBe(`${process.ppid}\nrunning service\n`);
  });
});
