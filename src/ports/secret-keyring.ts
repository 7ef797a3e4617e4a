// Envelope encryption of secret values. Each sealed value has its own data key (AES-256-GCM), stored only
// wrapped by a key-encryption key (KEK) named by its id; the KEK never leaves the keyring. Rotating the KEK
// re-wraps data keys (rewrap) without touching the ciphertext, so nothing has to be re-deployed.

/** What an event may hold about a secret value: nothing readable without the keyring. */
export interface SealedValue {
  /** Id of the KEK that wrapped `wrappedKey` (a digest of the key, not the key). */
  readonly keyId: string;
  /** The data key, encrypted by the KEK: base64 of iv(12) | tag(16) | ciphertext(32). */
  readonly wrappedKey: string;
  /** The values, encrypted by the data key: base64 of iv(12) | tag(16) | ciphertext. */
  readonly ciphertext: string;
}

export interface SecretKeyring {
  /** Id of the KEK new values are wrapped with. */
  readonly currentKeyId: string;
  /** `context` is bound to the ciphertext (additional data): a value sealed for one config version does not
   * open as another's. */
  seal(plaintext: string, context: string): SealedValue;
  /** Throws UnknownKeyError when the KEK that wrapped it is no longer configured. */
  open(sealed: SealedValue, context: string): string;
  /** The same data key wrapped by the current KEK (no change when it already is). */
  rewrap(sealed: Pick<SealedValue, 'keyId' | 'wrappedKey'>, context: string): Pick<SealedValue, 'keyId' | 'wrappedKey'>;
}

export class UnknownKeyError extends Error {
  override readonly name = 'UnknownKeyError';
  constructor(readonly keyId: string) {
    super(`the key-encryption key ${keyId} is not configured (SECRETS_KEY / SECRETS_KEY_PREVIOUS)`);
  }
}
