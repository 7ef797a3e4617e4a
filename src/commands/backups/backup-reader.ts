// Reading a backup back: chunk by chunk, each verified (size, sha256, record count, positions in order
// and within the chunk's stated range) before any of its records is yielded, so a restore never applies
// part of an altered chunk. The next chunk is fetched while the caller works on the current one.
import type {
  BackupApiKeyRecord,
  BackupChunk,
  BackupEventRecord,
  BackupFileRecord,
  BackupItem,
  BackupManifest,
} from '../../domain/backups/index.js';
import { chunkKey } from '../../domain/backups/index.js';
import { comparePositions, formatPosition, parsePosition, type Position, type RecordedEvent } from '../../ports/event-store.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { BackupIntegrityError, sha256Hex, type BackupKey } from './backup-codec.js';
import { decodeChunkRecords } from './chunk-decoder.js';
import { readAll } from './backup-manifest.js';

export interface ReadBackupOptions {
  /** Needed when the manifest names an encryption. */
  readonly key?: BackupKey;
  /** Which items' chunks (default: the event items, database and configuration). */
  readonly items?: readonly BackupItem[];
  /** Stop after this position (inclusive): a restore up to a position. */
  readonly upTo?: Position;
  /** Stop before the first event recorded after this instant: a restore up to a point in time. */
  readonly until?: Date;
}

export interface VerifiedChunk<Record> {
  readonly chunk: BackupChunk;
  readonly records: Record[];
}

const EVENT_ITEMS: readonly BackupItem[] = ['database', 'configuration'];

/** The stored bytes of one chunk, checked against the manifest's size and sha256. */
export async function fetchVerifiedChunk(storage: BackupStorage, manifest: BackupManifest, chunk: BackupChunk): Promise<Buffer> {
  const stored = await readAll(await storage.get(chunkKey(manifest.backupId, chunk.name)));
  if (stored.length !== chunk.bytes) throw new BackupIntegrityError(chunk.name, `${stored.length} bytes, the manifest says ${chunk.bytes}`);
  const sha = sha256Hex(stored);
  if (sha !== chunk.sha256) throw new BackupIntegrityError(chunk.name, `sha256 ${sha}, the manifest says ${chunk.sha256}`);
  return stored;
}

function checkEventOrder(chunk: BackupChunk, events: readonly BackupEventRecord[]): void {
  let previous: Position | undefined;
  for (const [index, event] of events.entries()) {
    const position = typeof event.position === 'string' ? parsePosition(event.position) : undefined;
    if (!position || typeof event.streamId !== 'string' || typeof event.type !== 'string' || !/^\d+$/.test(String(event.revision)))
      throw new BackupIntegrityError(chunk.name, `record ${index + 1} is not a stored event`);
    if (previous && comparePositions(previous, position) >= 0)
      throw new BackupIntegrityError(chunk.name, `record ${index + 1} is out of order`);
    previous = position;
  }
  if (events.length > 0 && (events[0]!.position !== chunk.firstPosition || events.at(-1)!.position !== chunk.lastPosition))
    throw new BackupIntegrityError(chunk.name, 'first or last position differs from the manifest');
}

async function* verifiedChunks<Record>(
  storage: BackupStorage,
  manifest: BackupManifest,
  chunks: readonly BackupChunk[],
  key: BackupKey | undefined,
  check: (chunk: BackupChunk, records: Record[]) => void,
): AsyncGenerator<VerifiedChunk<Record>> {
  const load = async (chunk: BackupChunk): Promise<VerifiedChunk<Record>> => {
    const stored = await fetchVerifiedChunk(storage, manifest, chunk);
    // Decrypt, gunzip and parse in a worker thread: a chunk of 50,000 events held the event loop (chunk-decoder.ts).
    const records = await decodeChunkRecords<Record>(chunk.name, stored, manifest.encryption, key, chunk.records);
    check(chunk, records);
    return { chunk, records };
  };
  let next = chunks.length > 0 ? load(chunks[0]!) : undefined;
  next?.catch(() => undefined); // awaited below; keeps an early failure from being reported as unhandled
  for (let index = 0; index < chunks.length; index++) {
    const current = await next!;
    next = index + 1 < chunks.length ? load(chunks[index + 1]!) : undefined;
    next?.catch(() => undefined);
    yield current;
  }
}

/** The events of a backup, one verified chunk at a time, in global order; cut at `upTo` / `until`. */
export async function* readBackupEventChunks(
  storage: BackupStorage,
  manifest: BackupManifest,
  options: ReadBackupOptions = {},
): AsyncGenerator<VerifiedChunk<BackupEventRecord>> {
  const items = options.items ?? EVENT_ITEMS;
  const chunks = manifest.chunks.filter((chunk) => items.includes(chunk.item) && EVENT_ITEMS.includes(chunk.item));
  const until = options.until?.getTime();
  for await (const verified of verifiedChunks<BackupEventRecord>(storage, manifest, chunks, options.key, checkEventOrder)) {
    const cut = verified.records.findIndex(
      (event) =>
        (options.upTo && comparePositions(parsePosition(event.position)!, options.upTo) > 0) ||
        (until !== undefined && !(Date.parse(event.recordedAt) <= until)),
    );
    if (cut === -1) {
      yield verified;
      continue;
    }
    if (cut > 0) yield { chunk: verified.chunk, records: verified.records.slice(0, cut) };
    return;
  }
}

/** The events of a backup one by one (see readBackupEventChunks). */
export async function* readBackupEvents(
  storage: BackupStorage,
  manifest: BackupManifest,
  options: ReadBackupOptions = {},
): AsyncGenerator<BackupEventRecord> {
  for await (const { records } of readBackupEventChunks(storage, manifest, options)) yield* records;
}

/** The file pieces of a backup, one verified chunk at a time. */
export async function* readBackupFileChunks(
  storage: BackupStorage,
  manifest: BackupManifest,
  options: Pick<ReadBackupOptions, 'key'> = {},
): AsyncGenerator<VerifiedChunk<BackupFileRecord>> {
  const chunks = manifest.chunks.filter((chunk) => chunk.item === 'files');
  yield* verifiedChunks<BackupFileRecord>(storage, manifest, chunks, options.key, () => undefined);
}

/** The api_keys rows a backup holds (its `api-keys` item), each chunk verified first. */
export async function readBackupApiKeys(
  storage: BackupStorage,
  manifest: BackupManifest,
  options: Pick<ReadBackupOptions, 'key'> = {},
): Promise<BackupApiKeyRecord[]> {
  const chunks = manifest.chunks.filter((chunk) => chunk.item === 'api-keys');
  const keys: BackupApiKeyRecord[] = [];
  const check = (chunk: BackupChunk, records: BackupApiKeyRecord[]) => {
    for (const [index, record] of records.entries())
      if (typeof record.keyId !== 'string' || typeof record.secretHash !== 'string' || typeof record.tenantId !== 'string')
        throw new BackupIntegrityError(chunk.name, `record ${index + 1} is not an api key`);
  };
  for await (const { records } of verifiedChunks<BackupApiKeyRecord>(storage, manifest, chunks, options.key, check)) keys.push(...records);
  return keys;
}

export function toBackupEventRecord(event: RecordedEvent): BackupEventRecord {
  return {
    streamId: event.streamId,
    revision: event.revision.toString(),
    position: formatPosition(event.position),
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
  };
}

export function fromBackupEventRecord(record: BackupEventRecord): RecordedEvent {
  return {
    streamId: record.streamId,
    revision: BigInt(record.revision),
    position: parsePosition(record.position)!,
    id: record.id,
    type: record.type,
    data: record.data,
    metadata: record.metadata,
    recordedAt: new Date(record.recordedAt),
  };
}
