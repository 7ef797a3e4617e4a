// Real processes for the packaging tests: `npm start` as a user runs it, with its own DATA_DIR and port,
// and the facts about it that only the operating system knows (its descendants, whether a port listens).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { builtEntry } from '../support/built-source.js';

export { freePort } from '../support/local-services.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface StartedProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs an npm script in the project root (or in `cwd`, a copy of it). It gets a process group of its own (detached) so that a test can
 * clean up everything it left behind even when the behaviour under test is that signals get lost.
 */
export function runNpm(args: readonly string[], env: Record<string, string>, cwd: string = projectRoot): StartedProcess {
  return runDetached('npm', args, env, cwd);
}

/**
 * Runs `src/<entry>.ts` compiled (test/support/built-source.ts) with plain node, the way `npm start` ends up
 * running the service (`exec node dist/main.js`), for tests about the service rather than about npm: no npm, no
 * tsc check and no tsx per process. Same process group and output capture as runNpm.
 */
export async function runBuilt(entry: string, args: readonly string[], env: Record<string, string>): Promise<StartedProcess> {
  return runDetached(process.execPath, [await builtEntry(entry), ...args], env);
}

function runDetached(command: string, args: readonly string[], env: Record<string, string>, cwd: string = projectRoot): StartedProcess {
  const child = spawn(command, [...args], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Polls GET /health until it answers 200; returns the milliseconds it took from `since`. */
export async function waitForHealth(port: number, since: number, timeoutMs: number, started?: StartedProcess): Promise<number> {
  const deadline = since + timeoutMs;
  while (Date.now() < deadline) {
    if (started && started.child.exitCode !== null)
      throw new Error(`the process exited (${started.child.exitCode}) before /health answered:\n${started.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) return Date.now() - since;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`GET /health did not answer 200 within ${timeoutMs} ms:\n${started?.output() ?? ''}`);
}

/** Whether something accepts TCP connections on the port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every live descendant of a process (from /proc; Linux only), found before it is signalled. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in parentheses may contain spaces, so the fields are read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // the process ended while we read
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Whether a process still runs (a zombie counts as ended). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

/** Ends the whole process group, whatever state the test left it in. */
export function killGroup(started: StartedProcess): void {
  try {
    process.kill(-started.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}
