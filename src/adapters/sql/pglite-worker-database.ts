// PGlite in a worker thread, for the side databases of long jobs: a restore into a new data directory and
// a drill's scratch store. PGlite runs PostgreSQL as WebAssembly on the thread that calls it: its start
// (compiling the module, initdb of a fresh directory) and every statement hold that thread. On the event
// loop, one restore of a 13-event backup stalled /health for seconds, for every tenant. Here the loop only
// passes messages; the service's own PGlite stays on the main thread (every request reads it).
//
// The worker is plain JavaScript given as text and loads PGlite's CommonJS build by absolute path, so the
// same code runs under node (dist/), tsx and vitest, which do not agree on loading a TypeScript worker.
// Rows and parameters cross by structured clone (Date, Uint8Array, bigint survive); an error crosses as its
// message and its primitive fields (`code`, `detail`, …), which is what callers look at.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { INT8_OID, sqlDatabaseOverPglite, type PgliteDatabaseOptions, type PgliteSession } from './pglite-database.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const { pg_trgm } = require(workerData.pgTrgm);
const plain = (error) => {
  const fields = { name: String(error && error.name || 'Error'), message: String(error && error.message || error) };
  if (error && typeof error === 'object')
    for (const [key, value] of Object.entries(error))
      if (['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  return fields;
};
PGlite.create({
  ...(workerData.dataDir ? { dataDir: workerData.dataDir } : {}),
  extensions: { pg_trgm },
  parsers: { [workerData.int8]: (value) => Number(value) },
}).then(
  (pglite) => {
    parentPort.on('message', async ({ id, op, text, params }) => {
      try {
        if (op === 'query') {
          const result = await pglite.query(text, params);
          parentPort.postMessage({ id, rows: result.rows, affectedRows: result.affectedRows });
        } else if (op === 'exec') {
          await pglite.exec(text);
          parentPort.postMessage({ id });
        } else {
          if (!pglite.closed) await pglite.close();
          parentPort.postMessage({ id });
        }
      } catch (error) {
        parentPort.postMessage({ id, error: plain(error) });
      }
    });
    parentPort.postMessage({ id: 0 });
  },
  (error) => parentPort.postMessage({ id: 0, error: plain(error) }),
);
`;

const require = createRequire(import.meta.url);

interface Reply {
  readonly id: number;
  readonly rows?: unknown[];
  readonly affectedRows?: number;
  readonly error?: { readonly name: string; readonly message: string } & Record<string, unknown>;
}

/** The database engine runs on the thread `threadId` (never the event loop's). */
export interface WorkerSqlDatabase extends SqlDatabase {
  readonly threadId: number;
}

function revive(fields: NonNullable<Reply['error']>): Error {
  const { name, message, ...rest } = fields;
  return Object.assign(new Error(message), { ...rest, name });
}

/** The SqlDatabase of createPgliteDatabase, with PGlite in a worker thread; `close` ends the thread. */
export async function createWorkerPgliteDatabase(options: PgliteDatabaseOptions = {}): Promise<WorkerSqlDatabase> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      pglite: require.resolve('@electric-sql/pglite'),
      pgTrgm: require.resolve('@electric-sql/pglite/contrib/pg_trgm'),
      dataDir: options.dataDir,
      int8: INT8_OID,
    },
  });
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let stopped: Error | undefined;
  let nextId = 1;
  const stop = (error: Error) => {
    stopped ??= error;
    for (const { reject } of pending.values()) reject(stopped);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error) waiting?.reject(revive(reply.error));
    else waiting?.resolve(reply);
  });
  worker.on('error', (error) => stop(error));
  worker.on('exit', (code) => stop(new Error(`the PGlite worker thread stopped (exit code ${code})`)));

  const ask = (id: number, message?: { op: 'query' | 'exec' | 'close'; text?: string; params?: unknown[] }) =>
    new Promise<Reply>((resolve, reject) => {
      if (stopped) return reject(stopped);
      pending.set(id, { resolve, reject });
      if (!message) return;
      try {
        worker.postMessage({ id, ...message });
      } catch (error) {
        pending.delete(id); // a parameter that cannot be cloned
        reject(error as Error);
      }
    });
  const call = (op: 'query' | 'exec' | 'close', text?: string, params?: unknown[]) => ask(nextId++, { op, text, params });

  try {
    await ask(0); // PGlite is up in the worker (or failed to start there)
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  let closed = false;
  const session: PgliteSession = {
    get closed() {
      return closed || stopped !== undefined;
    },
    async query<R>(text: string, params?: unknown[]) {
      const reply = await call('query', text, params);
      return { rows: (reply.rows ?? []) as R[], ...(reply.affectedRows !== undefined ? { affectedRows: reply.affectedRows } : {}) };
    },
    exec: (script) => call('exec', script),
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (!stopped) await call('close');
      } finally {
        await worker.terminate();
        stop(new Error('the PGlite worker thread stopped: the database is closed'));
      }
    },
  };
  return { ...sqlDatabaseOverPglite(session, options), threadId: worker.threadId };
}
