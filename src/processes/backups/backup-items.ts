// Writing one item of a backup as chunks. Each chunk is stored under a name fixed by its index before its
// BackupChunkWritten event is recorded, so a run killed between the two rewrites the same object and
// records it once; a resumed run continues after the last recorded chunk's cursor.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONFIGURATION_CATEGORIES,
  chunkKey,
  fileMayBeBackedUp,
  chunkName,
  type BackupApiKeyRecord,
  type BackupChunk,
  type BackupFileRecord,
  type BackupItem,
  type BackupItemCursor,
  type BackupState,
} from '../../domain/backups/index.js';
import { encodeChunk, encodeChunkStream, sha256Hex, type BackupKey } from '../../commands/backups/index.js';
import { BackupStorageError, type BackupStorage } from '../../ports/backup-storage.js';
import type { EventExport, EventExportPage, EventExportRange } from '../../ports/event-export.js';
import { comparePositions, formatPosition, parsePosition } from '../../ports/event-store.js';

export interface ItemWriterDeps {
  readonly storage: BackupStorage;
  readonly eventExport: EventExport;
  readonly key?: BackupKey;
  readonly dataDir: string;
  /** Top-level entries of the data directory that are not files to back up (the database, the backups). */
  readonly excludedFromFiles: readonly string[];
  readonly chunkEvents: number;
  readonly chunkFileBytes: number;
  /** The api_keys rows of a tenant (every tenant: undefined), for the api-keys item of a full backup. */
  readonly apiKeys?: (tenantId: string | undefined) => Promise<readonly BackupApiKeyRecord[]>;
  /** gzip level of the chunks (default 1: see backup-codec.ts). */
  readonly compressionLevel?: number;
  /** Events per export page (default EXPORT_PAGE_EVENTS). */
  readonly exportPageEvents?: number;
  /** Chunks written at once where the export can cut its range (default PARALLEL_CHUNKS). */
  readonly parallelChunks?: number;
}

/** Records a stored chunk (the caller appends BackupChunkWritten). */
export type RecordChunk = (chunk: BackupChunk, cursor: BackupItemCursor) => Promise<void>;

const chunksOf = (state: BackupState, item: BackupItem) => state.chunks.filter((chunk) => chunk.item === item).length;

/** Events per export page: a chunk is streamed in pages of this size, so memory does not grow with it. */
export const EXPORT_PAGE_EVENTS = 5000;
/** Chunks read and stored at once: two keep the database busy while Node and gzip work on the other. */
export const PARALLEL_CHUNKS = 2;

/**
 * Streams one chunk to storage: its text pieces go through gzip, the cipher and the sha256 straight into
 * the storage's put, so memory holds a few pieces, never the chunk. The size the storage reports must be
 * the size that was hashed.
 */
async function storeChunkStream(deps: ItemWriterDeps, backupId: string, name: string, pieces: AsyncIterable<string>) {
  const encoding = encodeChunkStream(pieces, deps.key, deps.compressionLevel);
  const key = chunkKey(backupId, name);
  const [put, digest] = await Promise.allSettled([deps.storage.put(key, encoding.output), encoding.digest]);
  if (digest.status === 'rejected') {
    encoding.output.destroy();
    throw digest.reason;
  }
  if (put.status === 'rejected') throw put.reason;
  if (put.value.bytes !== digest.value.bytes)
    throw new BackupStorageError(`stored ${put.value.bytes} bytes of ${key}, ${digest.value.bytes} were written`, key);
  return digest.value;
}

async function storeChunk(deps: ItemWriterDeps, backupId: string, name: string, ndjson: string) {
  const stored = await encodeChunk(ndjson, deps.key, deps.compressionLevel);
  await deps.storage.put(chunkKey(backupId, name), stored);
  return { sha256: sha256Hex(stored), bytes: stored.length };
}

interface EventChunkPart {
  readonly name: string;
  /** Where the chunk's events are read from: the range after `after`, up to `to`. */
  readonly range: EventExportRange;
}

/**
 * Streams one chunk's events to storage in export pages, reading the next page while the current one is
 * compressed, hashed and stored. Undefined when the part holds no event (nothing is stored then).
 */
async function writeEventChunk(deps: ItemWriterDeps, backupId: string, item: BackupItem, part: EventChunkPart, pageEvents: number) {
  const reader = deps.eventExport.open(part.range);
  const firstPage = await reader.next(Math.min(pageEvents, deps.chunkEvents));
  if (!firstPage) return undefined;
  let count = 0;
  let last = firstPage.last;
  // The chunk's text: its pages joined by '\n'; each page, once handed over, starts the next read.
  async function* pieces(): AsyncGenerator<string> {
    let page: EventExportPage | undefined = firstPage;
    while (page) {
      count += page.count;
      last = page.last;
      const left = deps.chunkEvents - count;
      const ahead = left > 0 ? reader.next(Math.min(pageEvents, left)) : undefined;
      ahead?.catch(() => undefined); // awaited below unless the stream is torn down first
      yield count === page.count ? page.ndjson : `\n${page.ndjson}`;
      page = await ahead;
    }
  }
  const stored = await storeChunkStream(deps, backupId, part.name, pieces());
  const chunk: BackupChunk = {
    item,
    name: part.name,
    ...stored,
    events: count,
    records: count,
    firstPosition: formatPosition(firstPage.first),
    lastPosition: formatPosition(last),
  };
  return chunk;
}

/**
 * database / configuration: the events of the backup's range (and scope), `chunkEvents` per chunk. Where
 * the export can cut the range up front (positionAt), up to `parallelChunks` chunks are read and stored at
 * once (each its own database connection), and recorded in order as they complete; otherwise chunk after
 * chunk. Chunk boundaries depend only on the range, so a resumed run rewrites an unrecorded chunk whole.
 */
export async function writeEventItem(deps: ItemWriterDeps, state: BackupState, item: 'database' | 'configuration', record: RecordChunk) {
  const started = state.started!;
  const pageEvents = Math.max(1, Math.min(deps.exportPageEvents ?? EXPORT_PAGE_EVENTS, deps.chunkEvents));
  const scope = {
    to: parsePosition(started.to)!,
    ...(state.scope.tenantId === undefined ? {} : { tenantId: state.scope.tenantId }),
    ...(item === 'configuration' ? { categories: CONFIGURATION_CATEGORIES } : {}),
  };
  const positionAt = deps.eventExport.positionAt?.bind(deps.eventExport);
  const parallel = positionAt ? Math.max(1, deps.parallelChunks ?? PARALLEL_CHUNKS) : 1;
  let after = parsePosition(state.cursors[item]?.after ?? started.from)!;
  let index = chunksOf(state, item);
  let planned = false; // every part up to the range's end is started
  const inFlight: Promise<BackupChunk | undefined>[] = [];
  try {
    for (;;) {
      while (!planned && inFlight.length < parallel) {
        // Without positionAt there is one part, read to the end: its writer stops at chunkEvents, and the
        // loop continues after its last position.
        const end = positionAt ? await positionAt({ ...scope, after }, deps.chunkEvents) : undefined;
        index++;
        const part = { name: chunkName(item, index, deps.key !== undefined), range: { ...scope, after, to: end ?? scope.to } };
        const writing = writeEventChunk(deps, state.backupId, item, part, pageEvents);
        writing.catch(() => undefined); // awaited in order below
        inFlight.push(writing);
        if (!positionAt) break;
        if (!end || comparePositions(end, scope.to) >= 0) planned = true;
        else after = end;
      }
      const chunk = await inFlight.shift();
      if (!chunk) return; // the range ended on the previous chunk's boundary
      await record(chunk, { item, after: chunk.lastPosition! });
      if (!positionAt) {
        if (chunk.events < deps.chunkEvents) return;
        after = parsePosition(chunk.lastPosition!)!;
      }
      if (planned && inFlight.length === 0) return;
    }
  } finally {
    // On failure, let the chunks still being written settle before the error propagates (a retry rewrites them).
    await Promise.allSettled(inFlight);
  }
}

/** Regular files under `dir`, as `/`-separated paths relative to `root`, in sorted order. */
async function* walkFiles(root: string, dir: string, excluded: readonly string[]): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (!dir && excluded.includes(entry.name)) continue;
    if (entry.isDirectory()) yield* walkFiles(root, path, excluded);
    else if (entry.isFile()) yield path;
  }
}

const PIECE_BYTES = 1024 * 1024;

interface FilesCursor {
  readonly path: string;
  readonly end: number;
}

/** files: every regular file under the data directory but the excluded ones, in 1 MiB pieces. Key material
 * (KEY_MATERIAL_FILES) only when the chunks are encrypted: never in the clear. */
export async function writeFilesItem(deps: ItemWriterDeps, state: BackupState, record: RecordChunk) {
  const cursorText = state.cursors.files?.after;
  const cursor = cursorText ? (JSON.parse(cursorText) as FilesCursor) : undefined;
  let index = chunksOf(state, 'files');
  let lines: string[] = [];
  let rawBytes = 0;
  let last: FilesCursor | undefined;
  const flush = async () => {
    if (lines.length === 0) return;
    index++;
    const name = chunkName('files', index, deps.key !== undefined);
    const stored = await storeChunk(deps, state.backupId, name, lines.join('\n'));
    const chunk: BackupChunk = {
      item: 'files',
      name,
      ...stored,
      events: 0,
      records: lines.length,
      firstPosition: null,
      lastPosition: null,
    };
    await record(chunk, { item: 'files', after: JSON.stringify(last) });
    lines = [];
    rawBytes = 0;
  };
  for await (const path of walkFiles(deps.dataDir, '', deps.excludedFromFiles)) {
    if (cursor && path < cursor.path) continue;
    if (!fileMayBeBackedUp(path, deps.key !== undefined)) continue;
    let info;
    try {
      info = await stat(join(deps.dataDir, path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed since the listing
      throw error;
    }
    let offset = cursor && path === cursor.path ? cursor.end : 0;
    if (cursor && path === cursor.path && offset >= info.size) continue;
    const base = { path, size: info.size, mode: info.mode & 0o777, mtime: info.mtime.toISOString() };
    const stream = createReadStream(join(deps.dataDir, path), { start: offset, highWaterMark: PIECE_BYTES });
    let wrote = false;
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const fileRecord: BackupFileRecord = { ...base, offset, data: piece.toString('base64') };
      lines.push(JSON.stringify(fileRecord));
      offset += piece.length;
      rawBytes += piece.length;
      last = { path, end: offset };
      wrote = true;
      if (rawBytes >= deps.chunkFileBytes) await flush();
    }
    if (!wrote && offset === 0) {
      // An empty file is one record, so that it is restored too.
      lines.push(JSON.stringify({ ...base, offset: 0, data: '' } satisfies BackupFileRecord));
      last = { path, end: 0 };
    }
  }
  await flush();
}

/**
 * api-keys: the api_keys rows of the backup's scope (a tenant's backup holds only that tenant's keys), one
 * chunk. Rows hold the SHA-256 of each secret, never the secret, so the chunk authenticates nobody; it is
 * encrypted like every chunk when BACKUP_ENCRYPTION_KEY is set.
 */
export async function writeApiKeysItem(deps: ItemWriterDeps, state: BackupState, record: RecordChunk) {
  if (!deps.apiKeys) throw new Error('this service cannot read its api keys for a backup');
  const keys = await deps.apiKeys(state.scope.tenantId);
  const name = chunkName('api-keys', chunksOf(state, 'api-keys') + 1, deps.key !== undefined);
  const stored = await storeChunk(deps, state.backupId, name, keys.map((key) => JSON.stringify(key)).join('\n'));
  const chunk: BackupChunk = {
    item: 'api-keys',
    name,
    ...stored,
    events: 0,
    records: keys.length,
    firstPosition: null,
    lastPosition: null,
  };
  await record(chunk, { item: 'api-keys', after: String(keys.length) });
}
