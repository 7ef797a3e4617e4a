// Chunk encoding: NDJSON → gzip → (AES-256-GCM: IV | ciphertext | tag). gzip runs on libuv's thread pool,
// so compressing one chunk overlaps reading the next. A backup streams its chunks (encodeChunkStream): the
// text goes through gzip, the cipher and the sha256 piece by piece, so no whole chunk is ever held in memory;
// encodeChunk is the same encoding in one call, for small chunks and tests.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip as gunzipCallback, gzip as gzipCallback, constants as zlibConstants } from 'node:zlib';
import type { BackupEncryption } from '../../domain/backups/index.js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** An AES-256 key and the id the manifest names it by. */
export interface BackupKey {
  readonly keyId: string;
  readonly key: Buffer;
}

/** BACKUP_ENCRYPTION_KEY: 64 hex digits or the base64 of 32 bytes. */
export function parseBackupKey(text: string): BackupKey {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new RangeError('BACKUP_ENCRYPTION_KEY must be 64 hex digits or the base64 of 32 bytes');
  return { key, keyId: createHash('sha256').update(key).digest('hex').slice(0, 16) };
}

export const encryptionOf = (key: BackupKey | undefined): BackupEncryption | null =>
  key ? { algorithm: 'aes-256-gcm', keyId: key.keyId } : null;

/** A chunk's format or content is not what its manifest says. */
export class BackupIntegrityError extends Error {
  override readonly name = 'BackupIntegrityError';
  constructor(
    readonly chunk: string,
    message: string,
  ) {
    super(`chunk ${chunk}: ${message}`);
  }
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The stored bytes of a chunk holding these NDJSON lines (joined with '\n', no trailing newline). */
export async function encodeChunk(ndjson: string, key: BackupKey | undefined, level = 1): Promise<Buffer> {
  const compressed = await gzip(Buffer.from(ndjson, 'utf8'), { level, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  if (!key) return compressed;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  const body = Buffer.concat([cipher.update(compressed), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** What came out of a streamed chunk: its stored size and the sha256 of its stored bytes. */
export interface EncodedChunkDigest {
  readonly sha256: string;
  readonly bytes: number;
}

/** A chunk being encoded as a stream: `output` yields the stored bytes; `digest` settles once it ended. */
export interface ChunkEncoding {
  readonly output: Readable;
  readonly digest: Promise<EncodedChunkDigest>;
}

/** AES-256-GCM as a stream, in the layout decodeChunk reads: IV | ciphertext | tag. */
function encryptStream(key: BackupKey): Transform {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  let started = false;
  return new Transform({
    transform(piece: Buffer, _encoding, done) {
      if (!started) {
        started = true;
        this.push(iv);
      }
      done(null, cipher.update(piece));
    },
    flush(done) {
      if (!started) this.push(iv);
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
}

/**
 * Encodes the text pieces of `source` (NDJSON, the pieces concatenated as they are) as a stored chunk, the
 * same bytes encodeChunk would decode to: gzip at `level`, then the cipher when there is a key. Backpressure
 * runs from whoever reads `output` back to `source`, so memory stays bounded whatever the chunk's size. An
 * error on either side (the source, the reader) destroys the whole pipeline and rejects `digest`.
 */
export function encodeChunkStream(source: AsyncIterable<string | Buffer>, key: BackupKey | undefined, level = 1): ChunkEncoding {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(piece: Buffer, _encoding, done) {
      hash.update(piece);
      bytes += piece.length;
      done(null, piece);
    },
  });
  const gzipStream = createGzip({ level, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  const stages = key ? [gzipStream, encryptStream(key)] : [gzipStream];
  // The digest is known when the last stage has flushed into the tap, whether or not the reader is done.
  const digest = new Promise<EncodedChunkDigest>((resolve, reject) => {
    tap.on('error', reject);
    tap.on('close', () => reject(new Error('chunk stream closed before its end')));
    const [first, ...rest] = stages;
    pipeline(Readable.from(source, { objectMode: false }), first!, ...rest, tap).catch(reject);
    tap.on('finish', () => resolve({ sha256: hash.digest('hex'), bytes }));
  });
  digest.catch(() => undefined);
  return { output: tap, digest };
}

/** Throws when an encrypted chunk cannot be decrypted with `key` (none, another key, too short). */
export function checkDecryptable(
  chunkName: string,
  stored: Buffer,
  encryption: BackupEncryption | null,
  key: BackupKey | undefined,
): { ivBytes: number; tagBytes: number } {
  if (!encryption) return { ivBytes: IV_BYTES, tagBytes: TAG_BYTES };
  if (!key) throw new BackupIntegrityError(chunkName, `encrypted with key ${encryption.keyId}; set BACKUP_ENCRYPTION_KEY`);
  if (key.keyId !== encryption.keyId)
    throw new BackupIntegrityError(chunkName, `encrypted with key ${encryption.keyId}, not with the configured key ${key.keyId}`);
  if (stored.length < IV_BYTES + TAG_BYTES) throw new BackupIntegrityError(chunkName, 'too short to be encrypted');
  return { ivBytes: IV_BYTES, tagBytes: TAG_BYTES };
}

/** The NDJSON text of a stored chunk (already verified against its sha256). */
export async function decodeChunk(
  chunkName: string,
  stored: Buffer,
  encryption: BackupEncryption | null,
  key: BackupKey | undefined,
): Promise<string> {
  let compressed = stored;
  checkDecryptable(chunkName, stored, encryption, key);
  if (encryption && key) {
    const decipher = createDecipheriv('aes-256-gcm', key.key, stored.subarray(0, IV_BYTES));
    decipher.setAuthTag(stored.subarray(stored.length - TAG_BYTES));
    try {
      compressed = Buffer.concat([decipher.update(stored.subarray(IV_BYTES, stored.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new BackupIntegrityError(chunkName, 'decryption failed (wrong key or altered chunk)');
    }
  }
  try {
    return (await gunzip(compressed)).toString('utf8');
  } catch (error) {
    throw new BackupIntegrityError(chunkName, `not gzip: ${(error as Error).message}`);
  }
}
