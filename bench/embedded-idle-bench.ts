// The embedded default as a user meets it: `npm start` (README's run command) in a fresh copy of the project
// (no dist/, no data), then again on the same copy and data. Measures the time to the first 200 on /health
// for both starts, then lets the restarted service idle and reads its CPU time (utime + stime from
// /proc/<pid>/stat) over the window, and its resident memory.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  descendantsOf,
  freePort,
  killGroup,
  projectRoot,
  runNpm,
  waitForHealth,
  type StartedProcess,
} from '../test/packaging/processes.js';

const CLOCK_TICKS_PER_SECOND = 100; // _SC_CLK_TCK on Linux

export interface EmbeddedIdleFigures {
  firstStartMs: number;
  restartMs: number;
  idleSeconds: number;
  /** The node process running dist/main.js: CPU time over the window as % of one core, and RSS at its end. */
  idleCpuPercent: number;
  rssMb: number;
  /** Everything `npm start` runs (npm, sh, node): the same two figures summed. */
  treeIdleCpuPercent: number;
  treeRssMb: number;
}

interface ProcessSample {
  ticks: number;
  rssPages: number;
  command: string;
}

function sample(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3 of stat(5), utime 14, stime 15, rss 24.
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return { ticks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]), command };
  } catch {
    return undefined;
  }
}

/** A copy of the project as a fresh clone has it: sources and build configuration, node_modules linked. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kyo-idle-project-'));
  for (const entry of ['src', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json'])
    cpSync(join(projectRoot, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function stop(started: StartedProcess): Promise<void> {
  started.child.kill('SIGTERM');
  const timer = setTimeout(() => killGroup(started), 20_000);
  await started.exited;
  clearTimeout(timer);
}

export async function benchEmbeddedIdle(options: { idleSeconds: number; log: (message: string) => void }): Promise<EmbeddedIdleFigures> {
  const project = freshCopy();
  const dataDir = join(project, 'data');
  const started: StartedProcess[] = [];
  try {
    const port = await freePort();
    const start = async () => {
      const since = Date.now();
      const npm = runNpm(['start'], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' }, project);
      started.push(npm);
      return { npm, ms: await waitForHealth(port, since, 300_000, npm) };
    };
    options.log('embedded-idle: first start (fresh copy, fresh data)');
    const first = await start();
    await stop(first.npm);
    options.log('embedded-idle: restart on the same copy and data');
    const second = await start();

    const pids = [second.npm.child.pid!, ...descendantsOf(second.npm.child.pid!)];
    const service = pids.find((pid) => sample(pid)?.command.includes('dist/main.js'));
    if (service === undefined) throw new Error('no node dist/main.js process under npm');
    options.log(`embedded-idle: idle for ${options.idleSeconds} s`);
    const before = new Map(pids.map((pid) => [pid, sample(pid)]));
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const after = new Map(pids.map((pid) => [pid, sample(pid)]));
    const cpuPercent = (pid: number) =>
      (((after.get(pid)?.ticks ?? 0) - (before.get(pid)?.ticks ?? 0)) / CLOCK_TICKS_PER_SECOND / seconds) * 100;
    const rssMb = (pid: number) => ((after.get(pid)?.rssPages ?? 0) * 4096) / 1024 / 1024;
    const round = (n: number) => Math.round(n * 10) / 10;
    const figures: EmbeddedIdleFigures = {
      firstStartMs: first.ms,
      restartMs: second.ms,
      idleSeconds: round(seconds),
      idleCpuPercent: round(cpuPercent(service)),
      rssMb: round(rssMb(service)),
      treeIdleCpuPercent: round(pids.reduce((sum, pid) => sum + cpuPercent(pid), 0)),
      treeRssMb: round(pids.reduce((sum, pid) => sum + rssMb(pid), 0)),
    };
    await stop(second.npm);
    return figures;
  } finally {
    for (const npm of started) killGroup(npm);
    rmSync(project, { recursive: true, force: true });
  }
}
