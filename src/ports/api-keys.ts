// The API key store port: the HTTP layer authenticates with it and the key routes manage keys through it;
// adapters/auth/api-key-store.ts keeps them in the SQL database.
import type { Principal } from '../domain/principal.js';

export interface NewApiKey {
  readonly tenantId: string;
  readonly userId: string;
  readonly name: string;
  readonly permissions: readonly string[];
}

/** What may be shown about a key: never its secret nor its hash. */
export interface ApiKeyInfo {
  readonly keyId: string;
  readonly name: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly permissions: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface ApiKeyStore {
  migrate(): Promise<void>;
  /** Returns the key in clear text: the only moment it exists outside the caller's hands. */
  create(key: NewApiKey): Promise<{ keyId: string; apiKey: string }>;
  authenticate(apiKey: string): Promise<Principal | undefined>;
  /** Revokes an active key of `tenantId`, or of any tenant when `tenantId` is undefined (platform). */
  revoke(tenantId: string | undefined, keyId: string): Promise<boolean>;
  /** A tenant's keys, oldest first, revoked ones included. */
  list(tenantId: string, page: { offset: number; limit: number }): Promise<{ keys: ApiKeyInfo[]; total: number }>;
  count(): Promise<number>;
}
