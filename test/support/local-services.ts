// Throwaway PostgreSQL and Redis servers for tests and benchmarks, from the Debian packages
// (`apt-get install postgresql redis-server`), and podman's Docker API. A URL in the environment wins over starting one.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Service = { url: string; socketUrl?: string; stop(): Promise<void> } | { skipReason: string };

const PG_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function runAs(user: string | undefined, command: string, args: string[]): void {
  if (user) execFileSync('runuser', ['-u', user, '--', command, ...args], { stdio: 'pipe' });
  else execFileSync(command, args, { stdio: 'pipe' });
}

/** `durable: false` turns fsync off: fine for tests, never for benchmarks. */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<Service> {
  const binDir = PG_BIN_DIRS.find((dir) => existsSync(join(dir, 'initdb')));
  if (!binDir) return { skipReason: 'no PostgreSQL server binaries (apt-get install postgresql) and no TEST_DATABASE_URL' };
  const isRoot = process.getuid?.() === 0;
  const user = isRoot ? 'postgres' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kyo-pg-'));
  chmodSync(dir, 0o777);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  try {
    runAs(user, join(binDir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=300',
      '-c shared_buffers=512MB',
      ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    runAs(user, join(binDir, 'pg_ctl'), ['-D', dataDir, '-o', settings, '-l', join(dir, 'log'), '-w', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { skipReason: `could not start PostgreSQL: ${(error as Error).message.split('\n')[0]}` };
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    // The same server over its Unix socket: what a benchmark of "local PostgreSQL" should use (loopback
    // TCP costs the client a few tens of microseconds of kernel time per query).
    socketUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    async stop() {
      try {
        runAs(user, join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function startRedis(): Promise<Service> {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
  if (!binary) return { skipReason: 'no redis-server binary (apt-get install redis-server) and no TEST_REDIS_URL' };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kyo-redis-'));
  mkdirSync(dir, { recursive: true });
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const ready = await waitForPort(port, 5_000);
  if (!ready) {
    child.kill('SIGKILL');
    return { skipReason: 'redis-server did not start within 5 s' };
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Shared by every run (see startDocker): networks are named by the tests, unique per test. */
const SHARED_NETWORK_DIR = join(tmpdir(), 'kyo-podman-networks');

/** No ulimits (the container may not raise them), cgroupfs and file events (no systemd here). */
function containersConf(networkDir: string): string {
  return [
    '[containers]',
    'default_ulimits = []',
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    '[network]',
    `network_config_dir = "${networkDir}"`,
    '',
  ].join('\n');
}

function podmanArgs(dir: string): string[] {
  return ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--runtime', 'runc'];
}

function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end();
  });
}

/**
 * podman's Docker-compatible API (`apt-get install podman runc busybox-static`) with its own storage, run and
 * network directories, so runs never see each other's containers. Its URL is a DOCKER_HOST (`unix://…`).
 */
export async function startDocker(): Promise<Service> {
  const podman = ['/usr/bin/podman', '/usr/local/bin/podman'].find((path) => existsSync(path));
  if (!podman) return { skipReason: 'no podman (apt-get install podman runc busybox-static) and no TEST_DOCKER_HOST' };
  if (!['/usr/sbin/runc', '/usr/bin/runc'].some((path) => existsSync(path))) return { skipReason: 'no runc (apt-get install runc)' };
  const dir = mkdtempSync(join(tmpdir(), 'kyo-podman-'));
  mkdirSync(SHARED_NETWORK_DIR, { recursive: true });
  const conf = join(dir, 'containers.conf');
  // One network directory for every run on the machine: podman picks bridge names and subnets under its
  // lock there, so concurrent runs never pick the same ones (each run's own directory raced: same bridge).
  writeFileSync(conf, containersConf(SHARED_NETWORK_DIR));
  // `system reset` removes every network in its network directory, whoever made it: pointed at the shared one it
  // deleted the networks of runs still going ("network not found" on their next restart). It gets a private one.
  const resetConf = join(dir, 'reset.conf');
  writeFileSync(resetConf, containersConf(join(dir, 'reset-networks')));
  // The service's own temporary files (an image upload lands as api_load.tar* and stays) go under `dir`.
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const env = { ...process.env, CONTAINERS_CONF: conf, TMPDIR: join(dir, 'tmp') };
  const socketPath = join(dir, 'podman.sock');
  const child = spawn(podman, [...podmanArgs(dir), 'system', 'service', '--time=0', `unix://${socketPath}`], {
    env,
    stdio: 'ignore',
    detached: false,
  });
  const deadline = Date.now() + 15_000;
  while (!(await pingSocket(socketPath))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return { skipReason: 'podman system service did not answer within 15 s' };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `unix://${socketPath}`,
    async stop() {
      const runWith = (runEnv: NodeJS.ProcessEnv, ...args: string[]) => {
        try {
          execFileSync(podman, [...podmanArgs(dir), ...args], { env: runEnv, stdio: 'pipe', timeout: 60_000 });
        } catch {
          // Best effort: what outlives it is deleted through runc below.
        }
      };
      const run = (...args: string[]) => runWith(env, ...args);
      // This run's networks (named by its tests, unique per test), before their containers go.
      let networks: string[] = [];
      try {
        const listed = execFileSync(podman, [...podmanArgs(dir), 'ps', '--all', '--format', '{{.Networks}}'], {
          env,
          encoding: 'utf8',
          timeout: 60_000,
        });
        networks = [...new Set(listed.split(/[\s,]+/).filter((name) => name && name !== 'podman'))];
      } catch {
        // No container listed: no network of ours to clean.
      }
      // Containers and networks first: a network's bridge and firewall rules live in the host, not in `dir`.
      run('rm', '--all', '--force', '--time', '0');
      if (networks.length > 0) run('network', 'rm', '--force', ...networks);
      // No `network prune`: the directory is shared, and another run's new network has no container yet.
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      deleteContainersUnder(dir);
      runWith({ ...env, CONTAINERS_CONF: resetConf }, 'system', 'reset', '--force');
      rmSync(dir, { recursive: true, force: true });
      stopIdleAardvark(networks);
    },
  };
}

/** Containers of this run that outlived `podman rm` (their processes are runc's, not the service's). */
function deleteContainersUnder(dir: string): void {
  try {
    const listed = JSON.parse(execFileSync('runc', ['list', '--format', 'json'], { encoding: 'utf8', timeout: 10_000 }) || '[]') as
      { id: string; bundle: string }[] | null;
    for (const container of (listed ?? []).filter((c) => c.bundle.startsWith(`${dir}/`))) {
      try {
        execFileSync('runc', ['delete', '--force', container.id], { stdio: 'pipe', timeout: 10_000 });
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    // No runc on PATH: nothing of this run went through it.
  }
}

/** Where netavark keeps aardvark-dns's per-network files: one for the machine (podman 4.3 has no per-run setting). */
const AARDVARK_DIR = '/run/containers/networks/aardvark-dns';

/**
 * podman's DNS server (aardvark-dns) serves every run's networks from one machine-wide directory and keeps
 * running while any network file is there. A container deleted past netavark (runc, above) leaves its
 * network's file behind, and aardvark-dns then outlives the run. This run's network files go; when no
 * network of any run is left, the idle server is stopped by its pid (checked to be aardvark-dns).
 */
function stopIdleAardvark(networks: readonly string[]): void {
  try {
    for (const network of networks) rmSync(join(AARDVARK_DIR, network), { force: true });
    const left = readdirSync(AARDVARK_DIR).filter((name) => name !== 'aardvark.pid');
    if (left.length > 0) return; // another run's network is served
    const pid = Number(readFileSync(join(AARDVARK_DIR, 'aardvark.pid'), 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 1) return;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('aardvark-dns')) return;
    process.kill(pid, 'SIGTERM');
  } catch {
    // No aardvark-dns directory or process: nothing was left.
  }
}
