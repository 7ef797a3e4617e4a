// Backups end to end through the real service (embedded PGlite, and S3 on a real s3rver): POST starts a
// backup that the worker runs to completion; GET shows status, size, checksum, location, duration; validate
// re-reads it and finds an altered chunk; DELETE unpublishes it; the platform rule and tenancy (another
// tenant's backup is 404), Idempotency-Key, bad input as 4xx naming the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll } from '../../src/commands/backups/index.js';
import { loadConfig } from '../../src/config.js';
import { backupStorageFrom } from '../../src/features/backups.js';
import { startService, type Service } from '../../src/service.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function e2e(label: string, environment: () => Promise<Record<string, string>>, teardown: () => Promise<void> = async () => {}) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let tenantAdminKey: string;
    let otherTenantKey: string;
    let readerKey: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-backups-e2e-'));
      env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', BACKUP_CHUNK_EVENTS: '100', ...(await environment()) };
      service = await startService(loadConfig(env), pino({ level: 'silent' }), { defaultMetrics: false });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      tenantAdminKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'ada', name: 'tenant admin', permissions: ['admin'] }))
        .apiKey;
      otherTenantKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] }))
        .apiKey;
      readerKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'reader', name: 'reader', permissions: ['backups:read'] }))
        .apiKey;
      for (let i = 0; i < 120; i++) await call('POST', '/v1/categories', { body: { name: `Category ${i}` } });
    }, 300_000);

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
      await teardown();
    });

    const call = (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer
    const finished = (backupId: string, key = adminKey): Promise<any> =>
      until(async () => {
        const response = await call('GET', `/v1/backups/${backupId}`, { key });
        return response.statusCode === 200 && !['queued', 'running'].includes(response.json().status) ? response.json() : undefined;
      }, `backup ${backupId} to finish`);

    it('runs a database backup of every tenant to completion and shows what it wrote', async () => {
      const started = await call('POST', '/v1/backups', { body: { name: 'nightly', type: 'database', scope: { allTenants: true } } });
      expect(started.statusCode).toBe(202);
      const { backupId, status } = started.json();
      expect(status).toBe('queued');
      expect(started.headers.location).toBe(`/v1/backups/${backupId}`);
      const done = await finished(backupId);
      expect(done).toMatchObject({
        backupId,
        name: 'nightly',
        type: 'database',
        scope: { allTenants: true },
        status: 'completed',
        lastDrill: null,
      });
      expect(done.eventCount).toBeGreaterThanOrEqual(120);
      expect(done.chunks).toBeGreaterThanOrEqual(2);
      expect(done.size).toBeGreaterThan(0);
      expect(done.checksum).toMatch(/^[0-9a-f]{64}$/);
      // The manifest's key under the storage root: no host path leaves the service.
      expect(done.location).toMatch(new RegExp(`(^|/)${backupId}/manifest\\.json$`));
      expect(JSON.stringify(done)).not.toContain(dataDir);
      expect(done.durationMs).toBeGreaterThanOrEqual(0);

      const validated = await call('POST', `/v1/backups/${backupId}/validate`);
      expect(validated.statusCode).toBe(200);
      expect(validated.json()).toMatchObject({ valid: true, errors: [] });

      const list = await call('GET', `/v1/backups?type=database&status=completed&minPosition=${validated.json().position}`, {
        key: readerKey,
      });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.map((b: { backupId: string }) => b.backupId)).toContain(backupId);
      expect(list.json().items.find((b: { backupId: string }) => b.backupId === backupId).lastValidation).toMatchObject({ valid: true });
    });

    it('validate finds an altered chunk; delete unpublishes the backup', async () => {
      const { backupId } = (await call('POST', '/v1/backups', { body: { name: 'to alter', type: 'database' } })).json();
      await finished(backupId);
      const storage = backupStorageFrom(loadConfig(env));
      const chunkKey = `${backupId}/database-000002.ndjson.gz`;
      const bytes = await readAll(await storage.get(chunkKey));
      bytes[10] = bytes[10]! ^ 1;
      await storage.put(chunkKey, bytes);
      const validated = (await call('POST', `/v1/backups/${backupId}/validate`)).json();
      expect(validated.valid).toBe(false);
      expect(validated.errors).toEqual([expect.objectContaining({ field: 'chunks[1]', code: 'chunk.sha256_mismatch' })]);

      const deleted = await call('DELETE', `/v1/backups/${backupId}`);
      expect(deleted.statusCode).toBe(202);
      await until(async () => ((await storage.exists(`${backupId}/manifest.json`)) ? undefined : true), 'the manifest to go');
      const gone = await call('GET', `/v1/backups/${backupId}?minPosition=${deleted.json().position}`);
      expect(gone.statusCode).toBe(404);
      await until(async () => {
        for await (const object of storage.list(`${backupId}/`)) return object ? undefined : true;
        return true;
      }, 'the chunks to go');
    });

    it('a tenant admin backs up its own tenant only; another tenant sees 404; files and every tenant need platform', async () => {
      const own = await call('POST', '/v1/backups', { key: tenantAdminKey, body: { name: 'mine', type: 'database' } });
      expect(own.statusCode).toBe(202);
      const done = await finished(own.json().backupId, tenantAdminKey);
      expect(done.scope).toEqual({ tenantId: 'default' });
      expect((await call('GET', `/v1/backups/${done.backupId}`, { key: otherTenantKey })).statusCode).toBe(404);
      expect((await call('POST', `/v1/backups/${done.backupId}/validate`, { key: otherTenantKey })).statusCode).toBe(404);
      expect((await call('DELETE', `/v1/backups/${done.backupId}`, { key: otherTenantKey })).statusCode).toBe(404);
      expect((await call('GET', '/v1/backups', { key: otherTenantKey })).json().total).toBe(0);

      for (const [body, field] of [
        [{ name: 'all', type: 'database', scope: { allTenants: true } }, 'body.scope.allTenants'],
        [{ name: 'theirs', type: 'database', scope: { tenantId: 'globex' } }, 'body.scope.tenantId'],
        [{ name: 'files', type: 'files' }, 'body.type'],
        [{ name: 'full', type: 'full' }, 'body.type'],
      ] as const) {
        const refused = await call('POST', '/v1/backups', { key: tenantAdminKey, body });
        expect(refused.statusCode).toBe(403);
        expect(refused.json().errors[0].field).toBe(field);
      }
      expect((await call('POST', '/v1/backups', { key: readerKey, body: { name: 'x', type: 'database' } })).statusCode).toBe(403);
    });

    it('Idempotency-Key: the same request names the same backup; another body with the key is 422', async () => {
      const headers = { 'idempotency-key': 'backup-key-0001' };
      const first = await call('POST', '/v1/backups', { headers, body: { name: 'once', type: 'configuration' } });
      const again = await call('POST', '/v1/backups', { headers, body: { name: 'once', type: 'configuration' } });
      expect(again.statusCode).toBe(202);
      expect(again.json().backupId).toBe(first.json().backupId);
      expect(again.headers['idempotent-replay']).toBe('true');
      const reused = await call('POST', '/v1/backups', { headers, body: { name: 'other', type: 'configuration' } });
      expect(reused.statusCode).toBe(422);
      await finished(first.json().backupId);
    });

    it('a full backup holds the files of the data directory too', async () => {
      writeFileSync(join(dataDir, 'blob.bin'), Buffer.alloc(1000, 7));
      const { backupId } = (await call('POST', '/v1/backups', { body: { name: 'everything', type: 'full' } })).json();
      const done = await finished(backupId);
      expect(done.status).toBe('completed');
      expect((await call('POST', `/v1/backups/${backupId}/validate`)).json()).toMatchObject({ valid: true });
    });

    it('bad input is a 400 naming the field', async () => {
      for (const [body, field] of [
        [{ name: '', type: 'database' }, 'body.name'],
        [{ name: 'x', type: 'tape' }, 'body.type'],
        [{ name: 'x', type: 'database', scope: { tenantId: 'Bad Tenant' } }, 'body.scope.tenantId'],
        [{ name: 'x', type: 'database', extra: 1 }, 'body.extra'],
      ] as const) {
        const response = await call('POST', '/v1/backups', { body });
        expect(response.statusCode, JSON.stringify(body)).toBe(400);
        expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      expect((await call('GET', '/v1/backups/not-a-uuid')).statusCode).toBe(400);
      expect((await call('GET', '/v1/backups?status=done')).statusCode).toBe(400);
      expect((await call('GET', '/v1/backups/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    });
  });
}

e2e('embedded, filesystem storage', async () => ({}));

let s3: S3rverHandle | undefined;
e2e(
  'embedded, S3 storage on s3rver',
  async () => {
    s3 = await startS3rver();
    return {
      S3_BUCKET: s3.bucket,
      S3_PREFIX: 'kyo',
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    };
  },
  async () => s3?.close(),
);
