// API keys: only a SHA-256 of the secret is stored, so a leaked table does not leak credentials.
// Keys look like `kyo_<id>_<secret>`; the id lets an operator name a key without holding it.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BackupApiKeyRecord } from '../../domain/backups/index.js';
import type { Principal } from '../../domain/principal.js';
import type { ApiKeyStore } from '../../ports/api-keys.js';
import type { SqlDatabase, SqlQueryable } from '../../ports/sql-database.js';

export const API_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  key_id text PRIMARY KEY,
  secret_hash bytea NOT NULL,
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  name text NOT NULL,
  permissions text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id);`;

const KEY_PATTERN = /^kyo_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** `cacheTtlMs` bounds how long a revoked key keeps working on an instance (default 10 s). */
export function createApiKeyStore(db: SqlDatabase, options: { cacheTtlMs?: number } = {}): ApiKeyStore {
  const cache = new LRUCache<string, { principal?: Principal }>({ max: 10_000, ttl: options.cacheTtlMs ?? 10_000 });

  async function lookup(keyId: string, secret: string): Promise<Principal | undefined> {
    const [row] = await db.query<{ secret_hash: Uint8Array; tenant_id: string; user_id: string; permissions: string[] }>(
      'SELECT secret_hash, tenant_id, user_id, permissions FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL',
      [keyId],
    );
    if (!row) return undefined;
    const stored = Buffer.from(row.secret_hash);
    const given = sha256(secret);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
    return { tenantId: row.tenant_id, userId: row.user_id, permissions: new Set(row.permissions), via: 'api_key' };
  }

  return {
    migrate: () => db.exec(API_KEYS_SCHEMA),
    async create(key) {
      const keyId = randomUUID().replaceAll('-', '').slice(0, 12);
      const secret = randomBytes(32).toString('base64url');
      await db.query('INSERT INTO api_keys (key_id, secret_hash, tenant_id, user_id, name, permissions) VALUES ($1, $2, $3, $4, $5, $6)', [
        keyId,
        sha256(secret),
        key.tenantId,
        key.userId,
        key.name,
        [...key.permissions],
      ]);
      return { keyId, apiKey: `kyo_${keyId}_${secret}` };
    },
    async authenticate(apiKey) {
      const match = KEY_PATTERN.exec(apiKey);
      if (!match) return undefined;
      const cacheKey = sha256(apiKey).toString('base64');
      const cached = cache.get(cacheKey);
      if (cached) return cached.principal;
      const principal = await lookup(match[1]!, match[2]!);
      cache.set(cacheKey, principal ? { principal } : {});
      return principal;
    },
    async revoke(tenantId, keyId) {
      const rows = await db.query(
        'UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND ($2::text IS NULL OR tenant_id = $2) AND revoked_at IS NULL RETURNING key_id',
        [keyId, tenantId ?? null],
      );
      cache.clear();
      return rows.length > 0;
    },
    async list(tenantId, page) {
      const [rows, [counted]] = await Promise.all([
        db.query<{
          key_id: string;
          name: string;
          tenant_id: string;
          user_id: string;
          permissions: string[];
          created_at: Date | string;
          revoked_at: Date | string | null;
        }>(
          'SELECT key_id, name, tenant_id, user_id, permissions, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id LIMIT $2 OFFSET $3',
          [tenantId, page.limit, page.offset],
        ),
        db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1', [tenantId]),
      ]);
      const iso = (value: Date | string) => new Date(value).toISOString();
      return {
        keys: rows.map((row) => ({
          keyId: row.key_id,
          name: row.name,
          tenantId: row.tenant_id,
          userId: row.user_id,
          permissions: row.permissions,
          createdAt: iso(row.created_at),
          revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
        })),
        total: counted?.n ?? 0,
      };
    },
    async count() {
      const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
      return row?.n ?? 0;
    },
  };
}

/** The api_keys rows of one tenant (or of every tenant), as a backup holds them: hashes, never a secret. */
export async function exportApiKeys(db: SqlQueryable, tenantId: string | undefined): Promise<BackupApiKeyRecord[]> {
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('api_keys') IS NOT NULL AS exists`);
  if (!table?.exists) return [];
  const rows = await db.query<{
    key_id: string;
    secret_hash: Uint8Array;
    tenant_id: string;
    user_id: string;
    name: string;
    permissions: string[];
    created_at: Date | string;
    revoked_at: Date | string | null;
  }>(
    `SELECT key_id, secret_hash, tenant_id, user_id, name, permissions, created_at, revoked_at FROM api_keys
      WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY created_at, key_id`,
    [tenantId ?? null],
  );
  return rows.map((row) => ({
    keyId: row.key_id,
    secretHash: Buffer.from(row.secret_hash).toString('base64'),
    tenantId: row.tenant_id,
    userId: row.user_id,
    name: row.name,
    permissions: row.permissions,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  }));
}

/**
 * Writes backed-up keys into a restored store (in the restore's transaction). A key id already present is
 * left as it is, never overwritten. Answers how many were written.
 */
export async function insertRestoredApiKeys(tx: SqlQueryable, keys: readonly BackupApiKeyRecord[]): Promise<number> {
  // One statement per query: a transaction's query runs one (PGlite's extended protocol).
  for (const statement of API_KEYS_SCHEMA.split(';').filter((text) => text.trim())) await tx.query(statement);
  if (keys.length === 0) return 0;
  const rows = await tx.query<{ key_id: string }>(
    `INSERT INTO api_keys (key_id, secret_hash, tenant_id, user_id, name, permissions, created_at, revoked_at)
       SELECT k.key_id, decode(k.secret_hash, 'base64'), k.tenant_id, k.user_id, k.name,
              ARRAY(SELECT jsonb_array_elements_text(k.permissions::jsonb)), k.created_at::timestamptz, k.revoked_at::timestamptz
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS k(key_id, secret_hash, tenant_id, user_id, name, permissions, created_at, revoked_at)
       ON CONFLICT (key_id) DO NOTHING
       RETURNING key_id`,
    [
      keys.map((k) => k.keyId),
      keys.map((k) => k.secretHash),
      keys.map((k) => k.tenantId),
      keys.map((k) => k.userId),
      keys.map((k) => k.name),
      keys.map((k) => JSON.stringify(k.permissions)),
      keys.map((k) => k.createdAt),
      keys.map((k) => k.revokedAt),
    ],
  );
  return rows.length;
}
