// #15.19: every pg pool and client the service opens gives up on a connection attempt after a timeout
// (pg waits forever without one), and a failed attempt is a DatabaseConnectionError whose message says
// what went wrong without the host, the port, the user or pg's own text: a refused port, a server that
// accepts but never answers, an unknown host and, on the real PostgreSQL, a database that does not exist.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase } from '../../../src/adapters/sql/pg-database.js';
import { DatabaseConnectionError } from '../../../src/ports/sql-database.js';
import { postgresService } from '../../support/services.js';

/** What a database op rejected with, after closing the database. */
async function failureOf(url: string, op: 'query' | 'transaction' | 'kysely' | 'lease', connectTimeoutMs = 300): Promise<unknown> {
  const db = createPgDatabase({ connectionString: url, maxConnections: 1, connectTimeoutMs });
  try {
    if (op === 'query') await db.query('SELECT 1');
    else if (op === 'transaction') await db.transaction((tx) => tx.query('SELECT 1'));
    else if (op === 'kysely') await db.kysely.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    else await db.tryAcquireLease('probe');
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await db.close().catch(() => undefined);
  }
}

function expectClear(error: unknown, reason: DatabaseConnectionError['reason'], port?: number): void {
  expect(error).toBeInstanceOf(DatabaseConnectionError);
  const { message } = error as DatabaseConnectionError;
  expect((error as DatabaseConnectionError).reason).toBe(reason);
  expect(message).not.toMatch(/127\.0\.0\.1|localhost|ECONN|ENOTFOUND|\.invalid|kyo_user/);
  if (port !== undefined) expect(message).not.toContain(String(port));
}

describe('pg connections fail clearly and in bounded time', () => {
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts connections and never says a word: pg's startup waits for an answer that never comes.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each(['query', 'transaction', 'kysely', 'lease'] as const)('a refused port (%s): "refused", without host or port', async (op) => {
    expectClear(await failureOf('postgres://kyo_user@127.0.0.1:1/db', op), 'refused', 1);
  });

  it.each(['query', 'transaction', 'kysely', 'lease'] as const)(
    'a server that never answers (%s) times out',
    async (op) => {
      const error = await failureOf(`postgres://kyo_user@127.0.0.1:${silentPort}/db`, op);
      expectClear(error, 'timeout', silentPort);
      expect((error as Error).message).toContain('300 ms');
    },
    20_000,
  );

  it('an unknown host: "does not resolve", without the name', async () => {
    expectClear(await failureOf('postgres://kyo_user@no-such-host.invalid:5432/db', 'query', 3_000), 'unknown_host');
  }, 20_000);

  const postgres = postgresService();
  it.skipIf(!postgres.url)(
    'on PostgreSQL, a database that does not exist: "does not exist", without its name',
    async () => {
      const url = new URL(postgres.url!);
      url.pathname = '/kyo_no_such_database_15_19';
      const error = await failureOf(url.toString(), 'query', 5_000);
      expectClear(error, 'no_database');
      expect((error as Error).message).not.toContain('kyo_no_such_database');
    },
    20_000,
  );
});
