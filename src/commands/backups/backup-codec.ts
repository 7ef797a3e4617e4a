// Chunk encoding: NDJSON → gzip → (AES-256-GCM: IV | ciphertext | tag). gzip runs on libuv's thread pool,
// so compressing one chunk overlaps reading the next.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback, constants as zlibConstants } from 'node:zlib';
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

/** The NDJSON text of a stored chunk (already verified against its sha256). */
export async function decodeChunk(
  chunkName: string,
  stored: Buffer,
  encryption: BackupEncryption | null,
  key: BackupKey | undefined,
): Promise<string> {
  let compressed = stored;
  if (encryption) {
    if (!key) throw new BackupIntegrityError(chunkName, `encrypted with key ${encryption.keyId}; set BACKUP_ENCRYPTION_KEY`);
    if (key.keyId !== encryption.keyId)
      throw new BackupIntegrityError(chunkName, `encrypted with key ${encryption.keyId}, not with the configured key ${key.keyId}`);
    if (stored.length < IV_BYTES + TAG_BYTES) throw new BackupIntegrityError(chunkName, 'too short to be encrypted');
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
