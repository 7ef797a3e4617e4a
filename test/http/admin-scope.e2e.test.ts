// Shared administration (#4): projections are shared by every tenant, so rebuilding them and reading their
// global heads are `platform` operations, not a tenant `admin`'s. A `platform` key lists and revokes any
// tenant's keys; a tenant `admin` only its own tenant's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

function adminSuite(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let platformKey: string;
    let acmeAdmin: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-admin-'));
      service = await startService(
        loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(await environment()) }),
        pino({ level: 'silent' }),
        { defaultMetrics: false },
      );
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      acmeAdmin = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'acme admin', permissions: ['admin'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, key: string, body?: unknown) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });

    it('refuses projection administration to a tenant admin without platform (403) and allows it with platform', async () => {
      const status = await call('GET', '/v1/admin/projections', acmeAdmin);
      expect(status.statusCode).toBe(403);
      expect(status.json()).toMatchObject({ permission: 'platform' });
      const rebuild = await call('POST', '/v1/admin/projections/categories/rebuild', acmeAdmin);
      expect(rebuild.statusCode).toBe(403);
      expect(rebuild.headers['content-type']).toContain('application/problem+json');
      expect((await call('GET', '/v1/admin/projections', platformKey)).statusCode).toBe(200);
      expect((await call('POST', '/v1/admin/projections/categories/rebuild', platformKey)).statusCode).toBe(202);
      // Let the rebuild finish: closing the service under a running rebuild is another matter (#9).
      const deadline = Date.now() + 15_000;
      while ((await service.projections.status()).some((s) => s.state === 'rebuilding' || s.rebuild) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    });

    it('refuses a key with a permission no route checks (batches:write): 400 naming the field and the value, no key made', async () => {
      const before = (await call('GET', '/v1/api-keys', acmeAdmin)).json().total;
      for (const [permissions, field, named] of [
        [['templates:read', 'batches:write'], 'body.permissions.1', '`batches`'],
        [['templates:delete'], 'body.permissions.0', '`delete`'],
        [['superuser'], 'body.permissions.0', '`superuser`'],
      ] as const) {
        const refused = await call('POST', '/v1/api-keys', acmeAdmin, { name: 'bad', permissions });
        expect(refused.statusCode, refused.body).toBe(400);
        expect(refused.headers['content-type']).toContain('application/problem+json');
        const errors = refused.json().errors as { field: string; message: string }[];
        expect(errors).toEqual([expect.objectContaining({ field })]);
        expect(errors[0]!.message).toContain(named);
      }
      expect((await call('GET', '/v1/api-keys', acmeAdmin)).json().total).toBe(before);
      const made = await call('POST', '/v1/api-keys', acmeAdmin, { name: 'ok', permissions: ['templates:write', 'audit:read'] });
      expect(made.statusCode, made.body).toBe(201);
    });

    it('lets a platform key list and revoke the keys it made for another tenant; a tenant admin sees only its own', async () => {
      const made = await call('POST', '/v1/api-keys', platformKey, {
        name: 'globex first key',
        tenantId: 'globex',
        userId: 'gina',
        permissions: ['admin'],
      });
      expect(made.statusCode, made.body).toBe(201);
      const { keyId, apiKey } = made.json();

      const listed = await call('GET', '/v1/api-keys?tenantId=globex', platformKey);
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().items).toEqual([
        expect.objectContaining({
          keyId,
          tenantId: 'globex',
          userId: 'gina',
          name: 'globex first key',
          permissions: ['admin'],
          revokedAt: null,
        }),
      ]);
      // The secret is everything after `kyo_<12-char id>_` (it may itself hold `_`, so no split).
      const secret = apiKey.slice('kyo_'.length + 12 + 1);
      expect(secret).toHaveLength(43);
      expect(JSON.stringify(listed.json())).not.toContain(secret);

      // A tenant admin lists its own tenant only, and cannot reach globex's keys.
      const own = await call('GET', '/v1/api-keys', acmeAdmin);
      expect(own.statusCode).toBe(200);
      expect(own.json().items.every((key: { tenantId: string }) => key.tenantId === 'acme')).toBe(true);
      expect((await call('GET', '/v1/api-keys?tenantId=globex', acmeAdmin)).statusCode).toBe(403);
      expect((await call('DELETE', `/v1/api-keys/${keyId}`, acmeAdmin)).statusCode).toBe(404);
      expect((await call('GET', '/v1/categories', apiKey)).statusCode).toBe(200);

      expect((await call('DELETE', `/v1/api-keys/${keyId}`, platformKey)).statusCode).toBe(204);
      expect((await call('GET', '/v1/categories', apiKey)).statusCode).toBe(401);
      expect((await call('DELETE', `/v1/api-keys/${keyId}`, platformKey)).statusCode).toBe(404);
      expect((await call('GET', '/v1/api-keys?tenantId=globex', platformKey)).json().items[0].revokedAt).toEqual(expect.any(String));
    });
  });
}

adminSuite('shared administration on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] shared administration on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url)
  adminSuite('shared administration on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
