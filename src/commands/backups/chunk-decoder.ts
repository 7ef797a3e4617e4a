// Decoding a stored chunk (AES-256-GCM, gunzip, one JSON.parse per line) off the event loop. A chunk holds up
// to BACKUP_CHUNK_EVENTS events (50,000 by default): decoded on the main thread, it held every tenant's
// requests for as long as the decipher, the split and the parse took (#15 item 4). A worker thread does it
// and hands the records back in slices of SLICE_RECORDS, each its own message, so the main thread only
// takes in one bounded slice at a time and answers requests in between.
//
// The worker is plain JavaScript given as text using nothing but node's builtins, so the same code runs
// under node (dist/), tsx and vitest. One worker serves the process, started on first use and not keeping
// the process alive while idle.
import { Worker } from 'node:worker_threads';
import type { BackupEncryption } from '../../domain/backups/index.js';
import { BackupIntegrityError, checkDecryptable, type BackupKey } from './backup-codec.js';

const SLICE_RECORDS = 500;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createDecipheriv } = require('node:crypto');
const { gunzipSync } = require('node:zlib');
class Integrity extends Error {}
parentPort.on('message', ({ id, stored, key, ivBytes, tagBytes, records, slice }) => {
  try {
    let compressed = Buffer.from(stored);
    if (key) {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key), compressed.subarray(0, ivBytes));
      decipher.setAuthTag(compressed.subarray(compressed.length - tagBytes));
      try {
        compressed = Buffer.concat([decipher.update(compressed.subarray(ivBytes, compressed.length - tagBytes)), decipher.final()]);
      } catch {
        throw new Integrity('decryption failed (wrong key or altered chunk)');
      }
    }
    let text;
    try {
      text = gunzipSync(compressed).toString('utf8');
    } catch (error) {
      throw new Integrity('not gzip: ' + error.message);
    }
    const lines = text.length === 0 ? [] : text.split('\\n');
    if (records !== undefined && lines.length !== records)
      throw new Integrity(lines.length + ' records, the manifest says ' + records);
    for (let start = 0; start < lines.length; start += slice) {
      const part = [];
      for (let index = start; index < Math.min(lines.length, start + slice); index++) {
        try {
          part.push(JSON.parse(lines[index]));
        } catch {
          throw new Integrity('record ' + (index + 1) + ' is not JSON');
        }
      }
      parentPort.postMessage({ id, part });
    }
    parentPort.postMessage({ id, done: true });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error), integrity: error instanceof Integrity });
  }
});`;

interface Pending {
  readonly chunkName: string;
  readonly records: unknown[];
  resolve(records: unknown[]): void;
  reject(error: Error): void;
}

type Reply = { id: number; part?: unknown[]; done?: true; error?: string; integrity?: boolean };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();
/** Chunks decoded by the worker thread since the process started (what tests look at). */
let decodedInWorker = 0;

export const chunksDecodedInWorker = () => decodedInWorker;

function decoderWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  started.on('message', (reply: Reply) => {
    const request = pending.get(reply.id);
    if (!request) return;
    if (reply.part) for (const record of reply.part) request.records.push(record);
    if (!reply.done && reply.error === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) started.unref();
    if (reply.error === undefined) {
      decodedInWorker++;
      request.resolve(request.records);
    } else request.reject(reply.integrity ? new BackupIntegrityError(request.chunkName, reply.error) : new Error(reply.error));
  });
  // A worker that died takes its requests with it; the next request starts a new one.
  const fail = (error: Error) => {
    if (worker === started) worker = undefined;
    for (const [id, request] of pending) {
      pending.delete(id);
      request.reject(error);
    }
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`the chunk decoder stopped (exit code ${code})`)));
  started.unref();
  return (worker = started);
}

/**
 * The records of a stored chunk (already verified against its sha256), parsed in the worker thread:
 * decrypted when the manifest says so, gunzipped, split into lines (as many as `records` when given) and
 * each line parsed as JSON. Integrity problems are BackupIntegrityErrors naming the chunk, as decodeChunk's.
 */
export async function decodeChunkRecords<Record>(
  chunkName: string,
  stored: Buffer,
  encryption: BackupEncryption | null,
  key: BackupKey | undefined,
  records?: number,
): Promise<Record[]> {
  const { ivBytes, tagBytes } = checkDecryptable(chunkName, stored, encryption, key);
  const decoder = decoderWorker();
  const id = nextId++;
  // A copy the worker owns (a Buffer may be a slice of node's shared pool, which cannot be transferred).
  const bytes = new Uint8Array(stored);
  const result = new Promise<unknown[]>((resolve, reject) => pending.set(id, { chunkName, records: [], resolve, reject }));
  decoder.ref();
  decoder.postMessage(
    { id, stored: bytes, key: encryption && key ? new Uint8Array(key.key) : undefined, ivBytes, tagBytes, records, slice: SLICE_RECORDS },
    [bytes.buffer],
  );
  return (await result) as Record[];
}
