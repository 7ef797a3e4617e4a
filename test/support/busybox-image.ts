// The image every Docker test runs: no registry is reachable here, so it is made from Debian's static busybox
// (`apt-get install busybox-static`) with every applet linked under /bin, and imported through the API once
// per run (global setup).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

export const BUSYBOX_IMAGE = 'localhost/busybox:latest';

const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox'];

const clientOf = (dockerHost: string) => {
  if (dockerHost.startsWith('unix://')) return new Docker({ socketPath: dockerHost.slice('unix://'.length) });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
};

/** Imports the busybox image (every applet linked under /bin) unless the engine has it: once per run. */
export async function ensureBusyboxImage(dockerHost: string): Promise<void> {
  const docker = clientOf(dockerHost);
  try {
    await docker.getImage(BUSYBOX_IMAGE).inspect();
    return;
  } catch {
    // Missing: build it below.
  }
  const busybox = BUSYBOX_PATHS.find((path) => existsSync(path));
  if (!busybox) throw new Error('no static busybox (apt-get install busybox-static)');
  const dir = mkdtempSync(join(tmpdir(), 'kyo-busybox-'));
  try {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    mkdirSync(join(root, 'www'), { recursive: true });
    writeFileSync(join(root, 'www', 'index.html'), 'ok\n');
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    const archive = join(dir, 'busybox.tar');
    execFileSync('tar', ['-C', root, '-cf', archive, '.']);
    const [repo, tag] = BUSYBOX_IMAGE.split(':') as [string, string];
    const stream = await docker.importImage(archive, { repo, tag });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
    await docker.getImage(BUSYBOX_IMAGE).inspect();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
