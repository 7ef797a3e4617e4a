// Restore drills through the real service on real PostgreSQL (the scratch store is a database of its own
// there): a drill of a good backup passes and shows as lastDrill; a drill after a chunk was altered fails
// with the reason; the platform rule; another tenant's backup is 404; a replayed request starts nothing new.
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

const postgres = postgresService();

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!postgres.url)('restore drills (PostgreSQL)', () => {
  let service: Service;
  let dataDir: string;
  let adminKey: string;
  let tenantAdminKey: string;
  let otherTenantKey: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-drill-e2e-'));
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      BACKUP_CHUNK_EVENTS: '100',
      DATABASE_URL: await createTestDatabase(postgres.url!),
    };
    service = await startService(loadConfig(env), pino({ level: 'silent' }), { defaultMetrics: false });
    adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    tenantAdminKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'ada', name: 'tenant admin', permissions: ['admin'] }))
      .apiKey;
    otherTenantKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] }))
      .apiKey;
    for (let i = 0; i < 120; i++) await call('POST', '/v1/categories', { body: { name: `Category ${i}` } });
    for (let i = 0; i < 30; i++) await call('POST', '/v1/categories', { key: otherTenantKey, body: { name: `Globex ${i}` } });
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
  const settled = (backupId: string, field: 'status' | 'drill'): Promise<any> =>
    until(async () => {
      const response = await call('GET', `/v1/backups/${backupId}`);
      if (response.statusCode !== 200) return undefined; // the read model has not seen it yet
      const body = response.json();
      if (field === 'status') return ['queued', 'running'].includes(body.status) ? undefined : body;
      return body.lastDrill && !['queued', 'running'].includes(body.lastDrill.status) ? body : undefined;
    }, `backup ${backupId} ${field}`);

  async function completedBackup(): Promise<string> {
    const started = await call('POST', '/v1/backups', { body: { name: 'nightly', type: 'database', scope: { allTenants: true } } });
    expect(started.statusCode).toBe(202);
    const { backupId } = started.json();
    expect((await settled(backupId, 'status')).status).toBe('completed');
    return backupId;
  }

  it('a drill of a good backup passes, though the live log moved on; a replay starts nothing new', async () => {
    const backupId = await completedBackup();
    for (let i = 0; i < 10; i++) await call('POST', '/v1/categories', { body: { name: `After ${i}` } });
    const drill = await call('POST', `/v1/backups/${backupId}/drill`, { headers: { 'idempotency-key': 'drill-key-0001' } });
    expect(drill.statusCode).toBe(202);
    expect(drill.json()).toMatchObject({ backupId, status: 'queued' });
    const done = await settled(backupId, 'drill');
    expect(done.lastDrill).toMatchObject({ drillId: drill.json().drillId, status: 'passed' });
    expect(done.lastDrill.tables).toBeGreaterThanOrEqual(2);
    const replay = await call('POST', `/v1/backups/${backupId}/drill`, { headers: { 'idempotency-key': 'drill-key-0001' } });
    expect(replay.statusCode).toBe(202);
    expect(replay.json().drillId).toBe(drill.json().drillId);
  });

  it('a drill after a chunk was altered fails and says which chunk', async () => {
    const backupId = await completedBackup();
    const dir = join(dataDir, 'backups', backupId);
    const chunk = readdirSync(dir).find((name) => name.startsWith('database-000002'))!;
    const bytes = readFileSync(join(dir, chunk));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(join(dir, chunk), bytes);
    expect((await call('POST', `/v1/backups/${backupId}/drill`)).statusCode).toBe(202);
    const done = await settled(backupId, 'drill');
    expect(done.lastDrill.status).toBe('failed');
    expect(done.lastDrill.reason).toMatch(new RegExp(`restore failed: chunk ${chunk}: sha256`));
  });

  it('refuses a tenant admin on a backup of every tenant (403) and hides it from another tenant (404)', async () => {
    const backupId = await completedBackup();
    const forbidden = await call('POST', `/v1/backups/${backupId}/drill`, { key: tenantAdminKey });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ permission: 'platform' });
    expect((await call('POST', `/v1/backups/${backupId}/drill`, { key: otherTenantKey })).statusCode).toBe(404);
    const bad = await call('POST', `/v1/backups/not-a-uuid/drill`);
    expect(bad.statusCode).toBe(400);
  });

  it('a tenant admin drills its own tenant backup', async () => {
    const started = await call('POST', '/v1/backups', { key: otherTenantKey, body: { name: 'globex', type: 'database' } });
    expect(started.statusCode).toBe(202);
    const { backupId } = started.json();
    await until(async () => {
      const body = (await call('GET', `/v1/backups/${backupId}`, { key: otherTenantKey })).json();
      return body.status === 'completed' ? body : undefined;
    }, 'tenant backup');
    expect((await call('POST', `/v1/backups/${backupId}/drill`, { key: otherTenantKey })).statusCode).toBe(202);
    const done = await until(async () => {
      const body = (await call('GET', `/v1/backups/${backupId}`, { key: otherTenantKey })).json();
      return body.lastDrill && !['queued', 'running'].includes(body.lastDrill.status) ? body : undefined;
    }, 'tenant drill');
    expect(done.lastDrill.status).toBe('passed');
  });
});
