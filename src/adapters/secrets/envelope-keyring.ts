// The SecretKeyring on node:crypto: AES-256-GCM for the data keys and the values. The KEK comes from
// SECRETS_KEY (earlier ones from SECRETS_KEY_PREVIOUS, for unwrapping until every data key is re-wrapped) or,
// when unset, from DATA_DIR/secrets-key, generated on first start with mode 0600.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnknownKeyError, type SealedValue, type SecretKeyring } from '../../ports/secret-keyring.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A KEK's id: a digest that names it without revealing it. */
export const keyIdOf = (key: Buffer) => `kek-${createHash('sha256').update('kyo-kek-id').update(key).digest('hex').slice(0, 16)}`;

/** 32 bytes as 64 hex digits or as base64; anything else is refused (a short key is a weak key). */
export function parseKey(text: string, variable: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${variable} must be ${KEY_BYTES} bytes as 64 hex digits or base64`);
  return key;
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function decrypt(key: Buffer, sealed: string, aad: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A keyring over explicit keys: the first wraps, all unwrap. */
export function envelopeKeyring(keys: readonly Buffer[]): SecretKeyring {
  if (keys.length === 0) throw new Error('a keyring needs at least one key');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]));
  const currentKeyId = keyIdOf(keys[0]!);
  const current = keys[0]!;
  // The wrapped data key is bound to the value's context and to the KEK's id.
  const wrapAad = (keyId: string, context: string) => `dek:${keyId}:${context}`;
  const unwrap = (sealed: Pick<SealedValue, 'keyId' | 'wrappedKey'>, context: string) => {
    const kek = byId.get(sealed.keyId);
    if (!kek) throw new UnknownKeyError(sealed.keyId);
    return decrypt(kek, sealed.wrappedKey, wrapAad(sealed.keyId, context));
  };
  return {
    currentKeyId,
    seal(plaintext, context) {
      const dataKey = randomBytes(KEY_BYTES);
      try {
        return {
          keyId: currentKeyId,
          wrappedKey: encrypt(current, dataKey, wrapAad(currentKeyId, context)),
          ciphertext: encrypt(dataKey, Buffer.from(plaintext, 'utf8'), `value:${context}`),
        };
      } finally {
        dataKey.fill(0);
      }
    },
    open(sealed, context) {
      const dataKey = unwrap(sealed, context);
      try {
        return decrypt(dataKey, sealed.ciphertext, `value:${context}`).toString('utf8');
      } finally {
        dataKey.fill(0);
      }
    },
    rewrap(sealed, context) {
      if (sealed.keyId === currentKeyId) return { keyId: sealed.keyId, wrappedKey: sealed.wrappedKey };
      const dataKey = unwrap(sealed, context);
      try {
        return { keyId: currentKeyId, wrappedKey: encrypt(current, dataKey, wrapAad(currentKeyId, context)) };
      } finally {
        dataKey.fill(0);
      }
    },
  };
}

/** The service's keyring from its settings; generates DATA_DIR/secrets-key (0600) when SECRETS_KEY is unset. */
export function keyringFromSettings(settings: { secretsKey?: string | undefined; previousKeys?: string | undefined; dataDir: string }): {
  keyring: SecretKeyring;
  generatedFile?: string;
} {
  const previous = (settings.previousKeys ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => parseKey(k, 'SECRETS_KEY_PREVIOUS'));
  if (settings.secretsKey) return { keyring: envelopeKeyring([parseKey(settings.secretsKey, 'SECRETS_KEY'), ...previous]) };
  const file = join(settings.dataDir, 'secrets-key');
  if (!existsSync(file)) {
    mkdirSync(settings.dataDir, { recursive: true });
    // `wx`: of two instances starting at once on one DATA_DIR, one writes and the other reads its key.
    try {
      writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(file, 0o600);
  return { keyring: envelopeKeyring([parseKey(readFileSync(file, 'utf8'), file), ...previous]), generatedFile: file };
}
