// A Unix socket that forwards to another (the Docker API): closing it makes the engine unreachable for
// whoever talks through it (connections cut, new ones refused) while the engine and its containers run on.
import { rmSync } from 'node:fs';
import net from 'node:net';

export interface SocketProxy {
  readonly path: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function socketProxy(upstreamPath: string, path: string): Promise<SocketProxy> {
  let server: net.Server | undefined;
  const open = new Set<net.Socket>();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      rmSync(path, { force: true });
      server = net.createServer((client) => {
        const upstream = net.connect(upstreamPath);
        open.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          open.delete(client);
          open.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of open) socket.destroy();
    open.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    rmSync(path, { force: true });
  };
  await listen();
  return { path, cut, restore: listen, close: cut };
}
