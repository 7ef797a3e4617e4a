// src/ compiled to .tmp/test-build for tests that spawn the service or a CLI as a real process. `tsc -b` is
// incremental: the first build of a checkout takes ~30 s on a loaded machine, later ones only check file stamps
// (~2 s). Test files run in parallel forks, so the build runs under a lock directory (mkdir is atomic).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const buildDir = join(projectRoot, '.tmp', 'test-build');
const lockDir = join(projectRoot, '.tmp', 'test-build.lock');
const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const config = fileURLToPath(new URL('./tsconfig.test-build.json', import.meta.url));

let built: Promise<void> | undefined;

/** The path of `src/<entry>.ts` compiled (e.g. `main`, `cli/restore`), built or brought up to date first. */
export async function builtEntry(entry: string): Promise<string> {
  built ??= underLock(async () => {
    // --noCheck as `npm start` does: typechecking is the typecheck step's job, not the tests'.
    await promisify(execFile)(process.execPath, [tsc, '-b', config, '--noCheck'], { cwd: projectRoot, timeout: 300_000 });
  });
  await built;
  return join(buildDir, `${entry}.js`);
}

async function underLock(work: () => Promise<void>): Promise<void> {
  mkdirSync(join(projectRoot, '.tmp'), { recursive: true });
  for (const deadline = Date.now() + 300_000; ;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch {
      if (holderIsGone()) rmSync(lockDir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${lockDir} held for 5 minutes`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** A lock whose process ended without releasing it (killed run). No pid file yet: being written, not stale. */
function holderIsGone(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
