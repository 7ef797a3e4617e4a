// What `npm run restore` checks before anything is written, so that a restored data directory is usable as
// it stands: the key-encryption key against every sealed secret of the log — the backup's own `secrets-key`
// (only ever in an encrypted backup), else SECRETS_KEY / SECRETS_KEY_PREVIOUS. (The files part goes back
// through the target: adapters/event-store/data-directory-files.ts.)
import { keyIdOf, parseKey } from '../adapters/secrets/envelope-keyring.js';
import { readBackupFileChunks, type BackupKey } from '../commands/backups/index.js';
import { chainEvents } from '../commands/restores/restore-backup.js';
import type { BackupManifest } from '../domain/backups/index.js';
import type { BackupStorage } from '../ports/backup-storage.js';
import type { Position } from '../ports/event-store.js';

const SEALED_KEY_ID = /"keyId":"(kek-[0-9a-f]{16})"/g;

/** The ids of the key-encryption keys that wrapped the sealed values in the chain's events. */
async function sealedKeyIds(
  storage: BackupStorage,
  chain: readonly BackupManifest[],
  key: BackupKey | undefined,
  request: { toPosition?: Position; toTime?: Date },
): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const events of chainEvents(storage, chain, key, request))
    for (const event of events) for (const match of JSON.stringify(event.data).matchAll(SEALED_KEY_ID)) ids.add(match[1]!);
  return ids;
}

/** The backup's `secrets-key` file, if the chain's files part holds it (read whole; it is 45 bytes). */
async function backedUpSecretsKey(storage: BackupStorage, chain: readonly BackupManifest[], key: BackupKey | undefined) {
  let text: string | undefined;
  for (const manifest of chain)
    for await (const { records } of readBackupFileChunks(storage, manifest, key ? { key } : {}))
      for (const record of records)
        if (record.path === 'secrets-key') text = (text ?? '') + Buffer.from(record.data, 'base64').toString('utf8');
  return text;
}

export class SecretsKeyMismatchError extends Error {
  override readonly name = 'SecretsKeyMismatchError';
}

/**
 * Refuses (SecretsKeyMismatchError, nothing written yet) when some sealed secret of the log would not open
 * with the key the restored instance will have. Answers where that key comes from.
 */
export async function checkSecretsKey(
  storage: BackupStorage,
  chain: readonly BackupManifest[],
  key: BackupKey | undefined,
  request: { toPosition?: Position; toTime?: Date },
  settings: { secretsKey?: string | undefined; previousKeys?: string | undefined },
): Promise<'backup' | 'SECRETS_KEY' | 'none needed'> {
  const needed = await sealedKeyIds(storage, chain, key, request);
  const fromBackup = await backedUpSecretsKey(storage, chain, key);
  const source = settings.secretsKey ? 'SECRETS_KEY' : fromBackup ? 'backup' : undefined;
  const keys = [
    ...(settings.secretsKey ? [parseKey(settings.secretsKey, 'SECRETS_KEY')] : fromBackup ? [parseKey(fromBackup, 'the backup')] : []),
    ...(settings.previousKeys ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k) => parseKey(k, 'SECRETS_KEY_PREVIOUS')),
  ];
  const available = new Set(keys.map(keyIdOf));
  const missing = [...needed].filter((id) => !available.has(id));
  if (missing.length === 0) return needed.size === 0 ? 'none needed' : source!;
  throw new SecretsKeyMismatchError(
    source
      ? `the key from ${source === 'backup' ? 'the backup' : 'SECRETS_KEY'} does not open the sealed secrets of this backup ` +
          `(they need key-encryption key ${missing.join(', ')}): set SECRETS_KEY (and SECRETS_KEY_PREVIOUS) to the keys of the backed-up instance`
      : `the backup holds sealed secrets (key-encryption key ${missing.join(', ')}) but not that key, as it should unless it is ` +
          'encrypted: set SECRETS_KEY to the key of the backed-up instance (kept outside the backup) and run the restore again',
  );
}
