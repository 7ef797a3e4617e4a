// The backup storage port: where backup objects live (the local filesystem under DATA_DIR/backups by
// default, or S3). Keys are `/`-separated paths relative to the storage's root, e.g.
// `<backupId>/manifest.json`.
//
// Publishing is atomic per object: `put` either stores the whole object or leaves nothing under the key
// (a temporary file renamed into place; an S3 upload completes or is aborted). A backup writes its chunks
// first and its manifest last, so a backup is listed (its manifest exists) only once every chunk is stored;
// a half-written backup is a set of chunks with no manifest, invisible to every reader.
import type { Readable } from 'node:stream';

export interface BackupObject {
  readonly key: string;
  readonly bytes: number;
}

export interface BackupStorage {
  readonly kind: 'filesystem' | 's3';
  /** Where a key lives, for people, never a host path: the key (filesystem, relative to its root) or `s3://bucket/prefix/key`. */
  location(key: string): string;
  /** Stores the body under `key`, replacing any object there; all or nothing. */
  put(key: string, body: Readable | Uint8Array): Promise<BackupObject>;
  /** The object's bytes. Throws BackupObjectNotFoundError when there is none. */
  get(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<BackupObject>;
  /** Removes the object; a missing object is not an error. */
  delete(key: string): Promise<void>;
}

export class BackupObjectNotFoundError extends Error {
  override readonly name = 'BackupObjectNotFoundError';
  constructor(readonly key: string) {
    super(`backup object ${key} not found`);
  }
}

/** The storage failed (unreachable, refused): the operation may be retried. */
export class BackupStorageError extends Error {
  override readonly name = 'BackupStorageError';
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
