// Restores through the real service on real PostgreSQL: POST /v1/backups/{id}/restore runs as a job into
// an empty database (platform) or a new data directory (tenant admin); /v1/restores shows status, events,
// range and duration; SSE progress resumes with Last-Event-ID. Bad input is refused before anything is
// recorded (404 / 403 / 409 / 400 naming the field); an altered chunk fails the restore naming the chunk,
// with nothing restored.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyStore } from '../../src/adapters/auth/api-key-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

const postgres = postgresService();

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function eventCount(url: string): Promise<number> {
  const db = createPgDatabase({ connectionString: url });
  try {
    const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('es_events') IS NOT NULL AS exists`);
    if (!table!.exists) return 0;
    const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`);
    return Number(row!.n);
  } finally {
    await db.close();
  }
}

describe.skipIf(!postgres.url)('restores API (PostgreSQL)', () => {
  let service: Service;
  let dataDir: string;
  let adminKey: string;
  let tenantAdminKey: string;
  let otherTenantKey: string;
  let liveUrl: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-restores-e2e-'));
    liveUrl = await createTestDatabase(postgres.url!);
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      BACKUP_CHUNK_EVENTS: '100',
      DATABASE_URL: liveUrl,
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
    };
    service = await startService(loadConfig(env), pino({ level: 'silent' }), { defaultMetrics: false });
    adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    tenantAdminKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'ada', name: 'tenant admin', permissions: ['admin'] }))
      .apiKey;
    otherTenantKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] }))
      .apiKey;
    for (let i = 0; i < 120; i++) await call('POST', '/v1/categories', { body: { name: `Category ${i}` } });
    for (let i = 0; i < 20; i++) await call('POST', '/v1/categories', { key: otherTenantKey, body: { name: `Globex ${i}` } });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'POST', url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    service.http.inject({
      method,
      url,
      headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer
  const finished = (restoreId: string, key = adminKey): Promise<any> =>
    until(async () => {
      const response = await call('GET', `/v1/restores/${restoreId}`, { key });
      if (response.statusCode !== 200) return undefined;
      const body = response.json();
      return body.status !== 'queued' && body.status !== 'running' ? body : undefined;
    }, `restore ${restoreId}`);

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer
  async function completedBackup(key = adminKey, scope: object | null = { allTenants: true }, type = 'database'): Promise<any> {
    const started = await call('POST', '/v1/backups', { key, body: { name: 'nightly', type, ...(scope ? { scope } : {}) } });
    expect(started.statusCode, started.body).toBe(202);
    const { backupId } = started.json();
    return until(async () => {
      const body = (await call('GET', `/v1/backups/${backupId}`, { key })).json();
      return body.status === 'completed' ? body : undefined;
    }, 'backup');
  }

  it('restores a backup of every tenant into an empty database; status, list and SSE progress (resumable)', async () => {
    const backup = await completedBackup();
    const target = await createTestDatabase(postgres.url!);
    const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, { body: { target: { databaseUrl: target } } });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.headers.location).toBe(`/v1/restores/${started.json().restoreId}`);
    // Said so in the answer: the POST only records the restore; a job runs it when its turn comes.
    expect(started.json().status).toBe('queued');
    const { restoreId } = started.json();
    const done = await finished(restoreId);
    expect(done).toMatchObject({ status: 'completed', backupId: backup.backupId, eventsRestored: backup.eventCount, error: null, runs: 1 });
    expect(done.range.last).toBe(backup.position.to);
    expect(done.durationMs).toBeGreaterThanOrEqual(0);
    expect(await eventCount(target)).toBe(backup.eventCount);

    const list = (await call('GET', `/v1/restores?status=completed&backupId=${backup.backupId}`)).json();
    expect(list.items.map((r: { restoreId: string }) => r.restoreId)).toEqual([restoreId]);
    expect((await call('GET', '/v1/restores?status=failed')).json().items).toEqual([]);
    expect((await call('GET', `/v1/restores/${restoreId}`, { key: otherTenantKey })).statusCode).toBe(404);
    expect((await call('GET', `/v1/restores/${restoreId}/events`, { key: otherTenantKey })).statusCode).toBe(404);

    const sse = await call('GET', `/v1/restores/${restoreId}/events`);
    expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
    const ids = [...sse.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const types = [...sse.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(types[0]).toBe('RestoreRequested');
    expect(types).toContain('RestoreRunStarted');
    expect(types.at(-1)).toBe('RestoreCompleted');
    const resumed = await call('GET', `/v1/restores/${restoreId}/events`, { headers: { 'last-event-id': String(ids[0]) } });
    expect([...resumed.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(ids.slice(1));
  });

  it('restores up to a position', async () => {
    const backup = await completedBackup();
    const chunks = readdirSync(join(dataDir, 'backups', backup.backupId)).filter((n) => n.startsWith('database-'));
    expect(chunks.length).toBeGreaterThan(1);
    const manifest = JSON.parse(readFileSync(join(dataDir, 'backups', backup.backupId, 'manifest.json'), 'utf8'));
    const cut = manifest.chunks[0].lastPosition as string;
    const target = await createTestDatabase(postgres.url!);
    const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      body: { target: { databaseUrl: target }, toPosition: cut },
    });
    expect(started.statusCode).toBe(202);
    const done = await finished(started.json().restoreId);
    expect(done).toMatchObject({ status: 'completed', eventsRestored: manifest.chunks[0].events, toPosition: cut });
    expect(done.range.last).toBe(cut);
    expect(await eventCount(target)).toBe(manifest.chunks[0].events);
  });

  it("a tenant admin restores its own tenant's backup only into a new data directory of its own", async () => {
    const backup = await completedBackup(tenantAdminKey, null);
    const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: tenantAdminKey,
      body: { target: { dataDirectory: 'copy-1' } },
    });
    expect(started.statusCode).toBe(202);
    const done = await finished(started.json().restoreId, tenantAdminKey);
    expect(done).toMatchObject({ status: 'completed', eventsRestored: backup.eventCount });
    // The name as given: the host path (DATA_DIR/restores/<tenant>/<name>) stays the service's.
    expect(done.target).toEqual({ kind: 'directory', location: 'copy-1' });
    expect(JSON.stringify(done)).not.toContain(dataDir);
    expect(existsSync(join(dataDir, 'restores', 'default', 'copy-1', 'pglite'))).toBe(true);
    // The same directory again: not empty any more.
    const again = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: tenantAdminKey,
      body: { target: { dataDirectory: 'copy-1' } },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().errors[0]).toMatchObject({ field: 'body.target.dataDirectory', rule: 'restore.target.not_empty' });
    // A database URL is the platform's; a path is no name; another tenant sees nothing.
    const url = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: tenantAdminKey,
      body: { target: { databaseUrl: await createTestDatabase(postgres.url!) } },
    });
    expect(url.statusCode).toBe(403);
    expect(url.json().errors[0].field).toBe('body.target.databaseUrl');
    const path = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: tenantAdminKey,
      body: { target: { dataDirectory: '../../etc' } },
    });
    expect(path.statusCode).toBe(400);
    const other = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: otherTenantKey,
      body: { target: { dataDirectory: 'x' } },
    });
    expect(other.statusCode).toBe(404);
  });

  it('refuses bad input before anything is recorded, naming the field', async () => {
    const backup = await completedBackup();
    const before = (await call('GET', '/v1/restores?pageSize=100')).json().total;
    const empty = await createTestDatabase(postgres.url!);
    const post = (body: object, key = adminKey, backupId = backup.backupId) =>
      call('POST', `/v1/backups/${backupId}/restore`, { key, body });
    expect((await post({ target: { databaseUrl: empty } }, adminKey, '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    const allTenants = await post({ target: { dataDirectory: 'mine' } }, tenantAdminKey);
    expect(allTenants.statusCode).toBe(403);
    expect(allTenants.json()).toMatchObject({ permission: 'platform' });
    const live = await post({ target: { databaseUrl: liveUrl } });
    expect(live.statusCode).toBe(409);
    const full = await createTestDatabase(postgres.url!);
    const fullDb = createPgDatabase({ connectionString: full });
    await fullDb.query(`CREATE TABLE es_events (n int)`);
    await fullDb.query(`CREATE TABLE es_streams (n int)`);
    await fullDb.query(`INSERT INTO es_events VALUES (1)`);
    await fullDb.close();
    const notEmpty = await post({ target: { databaseUrl: full } });
    expect(notEmpty.statusCode).toBe(409);
    expect(notEmpty.json().errors[0]).toMatchObject({ field: 'body.target.databaseUrl', rule: 'restore.target.not_empty' });
    const withPassword = new URL(empty);
    withPassword.password = 'secret';
    expect((await post({ target: { databaseUrl: withPassword.toString() } })).json().errors[0].rule).toBe('restore.target.password');

    const future = await post({ target: { databaseUrl: empty }, toTime: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.statusCode).toBe(400);
    expect(future.json().errors[0].field).toBe('body.toTime');
    const early = await post({ target: { databaseUrl: empty }, toTime: '2001-01-01T00:00:00Z' });
    expect(early.statusCode).toBe(400);
    expect(early.json().errors[0]).toMatchObject({ field: 'body.toTime', rule: 'restore.toTime.range' });
    const [commit, prepare] = (backup.position.to as string).split('.').map(BigInt) as [bigint, bigint];
    const after = await post({ target: { databaseUrl: empty }, toPosition: `${commit + 1000n}.${prepare + 1000n}` });
    expect(after.statusCode).toBe(400);
    expect(after.json().errors[0]).toMatchObject({ field: 'body.toPosition', rule: 'restore.toPosition.range' });
    const beforeFirst = await post({ target: { databaseUrl: empty }, toPosition: '0.0' });
    expect(beforeFirst.statusCode).toBe(400);
    expect(beforeFirst.json().errors[0].field).toBe('body.toPosition');
    const both = await post({ target: { databaseUrl: empty }, toPosition: backup.position.to, toTime: new Date().toISOString() });
    expect(both.statusCode).toBe(400);
    expect((await post({ target: {} })).statusCode).toBe(400);
    expect((await call('GET', '/v1/restores?pageSize=100')).json().total).toBe(before);
    expect(await eventCount(empty)).toBe(0);
  });

  it('a database it cannot reach: 400 naming the field and why, never the host or port, within the connect timeout (#15.19)', async () => {
    const backup = await completedBackup();
    const before = (await call('GET', '/v1/restores?pageSize=100')).json().total;
    // Accepts and never answers: without a connect timeout the request would wait forever.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      for (const [url, why] of [
        ['postgres://127.0.0.1:1/kyo_restore', /refused/],
        [`postgres://127.0.0.1:${silentPort}/kyo_restore`, /did not answer within 2000 ms/],
        ['postgres://no-such-host.invalid/kyo_restore', /does not resolve/],
      ] as const) {
        const response = await call('POST', `/v1/backups/${backup.backupId}/restore`, { body: { target: { databaseUrl: url } } });
        expect(response.statusCode, response.body).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        const problem = response.json();
        expect(problem.errors[0]).toMatchObject({ field: 'body.target.databaseUrl', rule: 'restore.target.unreachable' });
        expect(problem.detail).toMatch(why);
        expect(response.body).not.toMatch(/127\.0\.0\.1|ECONN|ENOTFOUND|no-such-host|:1\b/);
        expect(response.body).not.toContain(String(silentPort));
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    expect((await call('GET', '/v1/restores?pageSize=100')).json().total).toBe(before);
  }, 60_000);

  it('an altered chunk fails the restore naming the chunk, and nothing is restored', async () => {
    const backup = await completedBackup();
    const dir = join(dataDir, 'backups', backup.backupId);
    const chunk = readdirSync(dir).find((name) => name.startsWith('database-000002'))!;
    const bytes = readFileSync(join(dir, chunk));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(join(dir, chunk), bytes);
    const target = await createTestDatabase(postgres.url!);
    const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, { body: { target: { databaseUrl: target } } });
    expect(started.statusCode, started.body).toBe(202);
    const done = await finished(started.json().restoreId);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ chunk });
    expect(done.error.reason).toMatch(/sha256/);
    expect(done.eventsRestored).toBe(0);
    expect(await eventCount(target)).toBe(0);
  });

  it("#15.10: a full backup's api keys and files come back; a tenant's backup carries only its keys; the answer lists the parts", async () => {
    const kept = await service.apiKeys.create({ tenantId: 'globex', userId: 'grace', name: 'kept', permissions: ['categories:read'] });
    const revoked = await service.apiKeys.create({ tenantId: 'globex', userId: 'eve', name: 'revoked', permissions: ['admin'] });
    expect(await service.apiKeys.revoke('globex', revoked.keyId)).toBe(true);
    writeFileSync(join(dataDir, 'operator-notes.txt'), 'kept beside the database\n');
    const backup = await completedBackup(adminKey, { tenantId: 'globex' }, 'full');

    // Into a database: the log and the keys, not the files (said so). A key id the target holds is kept as it is.
    const target = await createTestDatabase(postgres.url!);
    const targetDb = createPgDatabase({ connectionString: target });
    try {
      await createApiKeyStore(targetDb).migrate();
      await targetDb.query(
        `INSERT INTO api_keys (key_id, secret_hash, tenant_id, user_id, name, permissions) VALUES ($1, '\\x00', 'globex', 'x', 'already here', '{}')`,
        [revoked.keyId],
      );
      const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, { body: { target: { databaseUrl: target } } });
      expect(started.statusCode, started.body).toBe(202);
      const done = await finished(started.json().restoreId);
      expect(done.status, JSON.stringify(done.error)).toBe('completed');
      expect(done.parts.restored).toEqual(['log', 'api-keys']);
      expect(done.parts.notRestored).toEqual([{ part: 'files', reason: expect.stringMatching(/database/) }]);
      const restoredKeys = createApiKeyStore(targetDb, { cacheTtlMs: 0 });
      expect(await restoredKeys.authenticate(kept.apiKey)).toMatchObject({ tenantId: 'globex', userId: 'grace' });
      expect(await restoredKeys.authenticate(revoked.apiKey)).toBeUndefined();
      // Only globex's keys: the platform key and the default tenant's admin were not in the tenant's backup.
      expect(await restoredKeys.authenticate(adminKey)).toBeUndefined();
      expect(await restoredKeys.authenticate(tenantAdminKey)).toBeUndefined();
      const rows = await targetDb.query<{ tenant_id: string; name: string }>('SELECT tenant_id, name FROM api_keys');
      expect(new Set(rows.map((row) => row.tenant_id))).toEqual(new Set(['globex']));
      expect(rows.find((row) => row.name === 'already here')).toBeDefined();
      expect(rows.some((row) => row.name === 'revoked')).toBe(false);
    } finally {
      await targetDb.close();
    }

    // Into a data directory: the files part too. A tenant admin (no platform) may not restore a backup holding files.
    const refused = await call('POST', `/v1/backups/${backup.backupId}/restore`, {
      key: tenantAdminKey,
      body: { target: { dataDirectory: 'with-files' } },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().errors[0]).toMatchObject({ field: 'backupId', rule: 'backup.platform_permission' });
    const started = await call('POST', `/v1/backups/${backup.backupId}/restore`, { body: { target: { dataDirectory: 'with-files' } } });
    expect(started.statusCode, started.body).toBe(202);
    const done = await finished(started.json().restoreId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.parts).toEqual({ restored: ['log', 'files', 'api-keys'], notRestored: [] });
    const restoredDir = join(dataDir, 'restores', 'default', 'with-files');
    expect(readFileSync(join(restoredDir, 'operator-notes.txt'), 'utf8')).toBe('kept beside the database\n');
    // Unencrypted: key material stayed out.
    expect(existsSync(join(restoredDir, 'bootstrap-api-key'))).toBe(false);
  }, 180_000);
});
