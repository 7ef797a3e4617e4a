// The backup format, version 1: what a restore on another machine needs to read a backup back exactly.
//
//   <backupId>/manifest.json                          written last: a backup exists once its manifest does
//   <backupId>/<item>-<nnnnnn>.ndjson.gz[.enc]         chunks: gzip of NDJSON, optionally AES-256-GCM
//
// A database or configuration chunk holds stored events (BackupEventRecord, one JSON object a line) in
// global order; a files chunk holds pieces of files (BackupFileRecord). An encrypted chunk is
// IV (12 bytes) | ciphertext | GCM tag (16 bytes). `sha256` and `bytes` are those of the stored object
// (after compression and encryption), so a chunk is verified before anything in it is decoded.
import type { JsonObject } from '../json.js';

export const BACKUP_FORMAT_VERSION = 1;

export const BACKUP_TYPES = ['database', 'files', 'configuration', 'full'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

/** What a backup is made of. `api-keys` is the api_keys table of the backup's scope (hashes, never a secret). */
export const BACKUP_ITEMS = ['database', 'configuration', 'files', 'api-keys'] as const;
export type BackupItem = (typeof BACKUP_ITEMS)[number];

export function itemsOfType(type: BackupType): readonly BackupItem[] {
  // A full backup's database item holds every event, configuration streams included; its api-keys item
  // lets a restored instance authenticate the keys that worked before (they are not events).
  return type === 'full' ? ['database', 'files', 'api-keys'] : [type];
}

/** Stream categories of the configuration item: environments, deployment specs and configs (secret
 * values are stored encrypted in these events and are copied as stored, never decrypted). */
export const CONFIGURATION_CATEGORIES: readonly string[] = ['environment', 'deployment', 'config', 'configtemplate', 'secret'];

/**
 * Files of the data directory that are key material: the key-encryption key of secrets (generated when
 * SECRETS_KEY is unset) and the bootstrap platform API key. Whoever holds them opens every sealed secret
 * or acts as the platform, so a files backup holds them only when its chunks are encrypted with
 * BACKUP_ENCRYPTION_KEY, which lives outside the data directory (never in a backup).
 */
export const KEY_MATERIAL_FILES: readonly string[] = ['secrets-key', 'bootstrap-api-key'];

/** Whether a files backup may hold `path` (relative to the data directory): key material only when encrypted. */
export const fileMayBeBackedUp = (path: string, encrypted: boolean): boolean => encrypted || !KEY_MATERIAL_FILES.includes(path);

export type BackupScope = {
  /** One tenant's streams (events whose metadata.tenantId is this); absent: every tenant (platform). */
  readonly tenantId?: string;
};

/** A scope as answers show it: one tenant, or every tenant said so (as a create asks for it), never `{}`. */
export type BackupScopeView = { readonly tenantId: string } | { readonly allTenants: true };

export const backupScopeView = (tenantId: string | null | undefined): BackupScopeView =>
  tenantId === null || tenantId === undefined ? { allTenants: true } : { tenantId };

/** A position as text, `"<commit>.<prepare>"` (see ports/event-store formatPosition). */
export type PositionText = string;

export type BackupChunk = {
  readonly item: BackupItem;
  /** File name under the backup's folder, e.g. `database-000001.ndjson.gz`. */
  readonly name: string;
  /** Hex sha256 of the stored object. */
  readonly sha256: string;
  /** Bytes of the stored object. */
  readonly bytes: number;
  /** Events in the chunk (0 for a files chunk). */
  readonly events: number;
  /** Records in the chunk: events, or file pieces for a files chunk. */
  readonly records: number;
  /** Positions of the chunk's first and last event (null for a files chunk). */
  readonly firstPosition: PositionText | null;
  readonly lastPosition: PositionText | null;
};

export type BackupEncryption = {
  readonly algorithm: 'aes-256-gcm';
  /** First 16 hex digits of the key's sha256: names the key without revealing it. */
  readonly keyId: string;
};

export type BackupManifest = {
  readonly formatVersion: typeof BACKUP_FORMAT_VERSION;
  readonly backupId: string;
  readonly name: string;
  readonly type: BackupType;
  readonly scope: BackupScope;
  /** Events after `from` (exclusive) up to `to` (inclusive). A full backup starts at `0.0`. */
  readonly position: { readonly from: PositionText; readonly to: PositionText };
  readonly eventCount: number;
  readonly chunks: readonly BackupChunk[];
  readonly encryption: BackupEncryption | null;
  readonly createdAt: string;
  readonly createdBy: string;
  /** The backup this one continues (incremental), or null for a full one. */
  readonly parentBackupId: string | null;
  /** Items that failed (a partially failed backup publishes what it has). */
  readonly failedItems: readonly { readonly item: BackupItem; readonly reason: string }[];
};

/** One stored event, exactly as the store holds it. */
export type BackupEventRecord = {
  readonly streamId: string;
  /** Stream revision, decimal text (bigint). */
  readonly revision: string;
  readonly position: PositionText;
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  /** ISO time the store recorded it. */
  readonly recordedAt: string;
};

/** A piece of a file under the data directory (big files span several records, in offset order). */
export type BackupFileRecord = {
  /** Relative to the data directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: string;
  readonly offset: number;
  /** Base64 of the bytes at `offset`. */
  readonly data: string;
};

/**
 * One row of the api_keys table as a backup holds it: the SHA-256 of the secret, never the secret (which
 * exists only in its holder's hands), so the record authenticates nobody; revoked keys stay revoked.
 */
export type BackupApiKeyRecord = {
  readonly keyId: string;
  /** Base64 of the SHA-256 of the key's secret part. */
  readonly secretHash: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly name: string;
  readonly permissions: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
};

export const manifestKey = (backupId: string) => `${backupId}/manifest.json`;
export const chunkKey = (backupId: string, chunkName: string) => `${backupId}/${chunkName}`;
export const chunkName = (item: BackupItem, index: number, encrypted: boolean) =>
  `${item}-${String(index).padStart(6, '0')}.ndjson.gz${encrypted ? '.enc' : ''}`;
