// Backup policies end to end through the real service, on PGlite and on PostgreSQL: CRUD with If-Match and
// Idempotency-Key, bad input refused naming the field with nothing written, the platform rule and tenancy
// (another tenant's policy is 404), and run now (202 with a backup id that the worker completes).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const daily = { name: 'nightly', type: 'database', schedule: { frequency: 'daily', time: '02:00' }, retention: { days: 30, minCount: 7 } };

function e2e(label: string, environment: () => Promise<Record<string, string> | undefined>) {
  describe(label, () => {
    let service: Service | undefined;
    let dataDir: string;
    let adminKey: string;
    let tenantAdminKey: string;
    let otherTenantKey: string;
    let skip = false;

    beforeAll(async () => {
      const env = await environment();
      if (!env) {
        skip = true;
        return;
      }
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-policies-e2e-'));
      service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }), pino({ level: 'silent' }), {
        defaultMetrics: false,
      });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      tenantAdminKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'ada', name: 'tenant admin', permissions: ['admin'] }))
        .apiKey;
      otherTenantKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] }))
        .apiKey;
    }, 120_000);

    afterAll(async () => {
      await service?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      service!.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });

    it('creates, reads, lists, changes with If-Match, disables, enables and deletes a policy', async (context) => {
      if (skip) return context.skip();
      const created = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'crud' } });
      expect(created.statusCode).toBe(201);
      const { policyId, position } = created.json();
      const one = await call('GET', `/v1/backup-policies/${policyId}?minPosition=${position}`, { key: tenantAdminKey });
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({
        policyId,
        name: 'crud',
        type: 'database',
        scope: { tenantId: 'default' },
        schedule: { frequency: 'daily', time: '02:00' },
        retention: { days: 30, minCount: 7 },
        enabled: true,
        incremental: false,
        drillAfterBackup: false,
        lastRun: null,
        lastSuccessfulDrill: null,
      });
      expect(new Date(one.json().nextRunAt).toISOString()).toMatch(/T02:00:00\.000Z$/);
      expect(Date.parse(one.json().nextRunAt)).toBeGreaterThan(Date.now());
      expect(one.headers.etag).toBe('"0"');

      const list = await call('GET', '/v1/backup-policies?pageSize=1', { key: tenantAdminKey });
      expect(list.json()).toMatchObject({ page: 1, pageSize: 1 });
      expect(list.json().total).toBeGreaterThanOrEqual(1);

      const stale = await call('PATCH', `/v1/backup-policies/${policyId}`, {
        key: tenantAdminKey,
        headers: { 'if-match': '"7"' },
        body: { schedule: { frequency: 'weekly', dayOfWeek: 0, time: '01:00' } },
      });
      expect(stale.statusCode).toBe(409);
      const changed = await call('PATCH', `/v1/backup-policies/${policyId}`, {
        key: tenantAdminKey,
        headers: { 'if-match': '"0"' },
        body: { schedule: { frequency: 'weekly', dayOfWeek: 0, time: '01:00' }, retention: { days: 90, minCount: 4 } },
      });
      expect(changed.statusCode).toBe(200);
      const weekly = (
        await call('GET', `/v1/backup-policies/${policyId}?minPosition=${changed.json().position}`, { key: tenantAdminKey })
      ).json();
      expect(weekly.retention).toEqual({ days: 90, minCount: 4 });
      expect(new Date(weekly.nextRunAt).getUTCDay()).toBe(0);

      const disabled = await call('POST', `/v1/backup-policies/${policyId}/disable`, { key: tenantAdminKey });
      expect(disabled.statusCode).toBe(200);
      const off = (
        await call('GET', `/v1/backup-policies/${policyId}?minPosition=${disabled.json().position}`, { key: tenantAdminKey })
      ).json();
      expect(off).toMatchObject({ enabled: false, nextRunAt: null });
      expect(
        (await call('GET', '/v1/backup-policies?enabled=false', { key: tenantAdminKey }))
          .json()
          .items.map((p: { policyId: string }) => p.policyId),
      ).toContain(policyId);
      const enabled = await call('POST', `/v1/backup-policies/${policyId}/enable`, { key: tenantAdminKey });
      const on = (
        await call('GET', `/v1/backup-policies/${policyId}?minPosition=${enabled.json().position}`, { key: tenantAdminKey })
      ).json();
      expect(on.enabled).toBe(true);
      expect(on.nextRunAt).not.toBeNull();

      const deleted = await call('DELETE', `/v1/backup-policies/${policyId}`, { key: tenantAdminKey });
      expect(deleted.statusCode).toBe(200);
      expect(
        (await call('GET', `/v1/backup-policies/${policyId}?minPosition=${deleted.json().position}`, { key: tenantAdminKey })).statusCode,
      ).toBe(404);
      expect((await call('POST', `/v1/backup-policies/${policyId}/run`, { key: tenantAdminKey })).statusCode).toBe(404);
      // Its name is free again.
      expect((await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'crud' } })).statusCode).toBe(201);
    });

    it('refuses a duplicate name and bad input naming the field, writing nothing', async (context) => {
      if (skip) return context.skip();
      const first = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'unique' } });
      expect(first.statusCode).toBe(201);
      const duplicate = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: ' UNIQUE ' } });
      expect(duplicate.statusCode).toBe(409);
      expect(JSON.stringify(duplicate.json())).toContain('body.name');

      const before = (await call('GET', `/v1/backup-policies?minPosition=${first.json().position}`, { key: tenantAdminKey })).json().total;
      const cases: [unknown, string][] = [
        [{ ...daily, schedule: { frequency: 'daily', time: '25:00' } }, 'body.schedule.time'],
        [{ ...daily, schedule: { frequency: 'cron', expression: '0 0 30 2 *' } }, 'body.schedule.expression'],
        [{ ...daily, schedule: { frequency: 'cron', expression: 'every day' } }, 'body.schedule.expression'],
        [{ ...daily, schedule: { frequency: 'monthly', dayOfMonth: 32, time: '01:00' } }, 'body.schedule.dayOfMonth'],
        [{ ...daily, retention: { days: 0, minCount: 0 } }, 'body.retention.minCount'],
        [{ ...daily, type: 'everything' }, 'body.type'],
        [{ ...daily, schedule: { frequency: 'fortnightly' } }, 'body.schedule.frequency'],
        [{ ...daily, name: '' }, 'body.name'],
        // Runs closer than BACKUP_POLICY_MIN_INTERVAL_SECONDS (300 by default) apart: the shared backup worker's.
        [{ ...daily, schedule: { frequency: 'cron', expression: '* * * * * *' } }, 'body.schedule.expression'],
        [{ ...daily, schedule: { frequency: 'cron', expression: '*/2 * * * *' } }, 'body.schedule.expression'],
      ];
      for (const [body, field] of cases) {
        const refused = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body });
        expect([400, 422], JSON.stringify(body)).toContain(refused.statusCode);
        expect(refused.headers['content-type']).toContain('application/problem+json');
        expect(
          refused.json().errors.map((e: { field: string }) => e.field),
          JSON.stringify(refused.json()),
        ).toContain(field);
      }
      const { policyId, position } = (
        await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'patched' } })
      ).json();
      const badPatch = await call('PATCH', `/v1/backup-policies/${policyId}`, {
        key: tenantAdminKey,
        body: { retention: { days: 0, minCount: 0 } },
      });
      expect(badPatch.statusCode).toBe(400);
      expect(badPatch.json().errors[0].field).toBe('body.retention.minCount');
      const perSecond = await call('PATCH', `/v1/backup-policies/${policyId}`, {
        key: tenantAdminKey,
        body: { schedule: { frequency: 'cron', expression: '* * * * * *' } },
      });
      expect(perSecond.statusCode).toBe(400);
      expect(perSecond.json().errors[0]).toMatchObject({ field: 'body.schedule.expression', rule: 'backup_policy.schedule.too_frequent' });
      const unchanged = (await call('GET', `/v1/backup-policies/${policyId}?minPosition=${position}`, { key: tenantAdminKey })).json();
      expect(unchanged).toMatchObject({ revision: 0, retention: { days: 30, minCount: 7 } });
      expect((await call('GET', `/v1/backup-policies?minPosition=${position}`, { key: tenantAdminKey })).json().total).toBe(before + 1);
    });

    it('keeps tenants apart and needs the platform permission for policies beyond the tenant', async (context) => {
      if (skip) return context.skip();
      const created = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'tenancy' } });
      const { policyId, position } = created.json();
      for (const [method, url] of [
        ['GET', `/v1/backup-policies/${policyId}?minPosition=${position}`],
        ['POST', `/v1/backup-policies/${policyId}/run`],
        ['POST', `/v1/backup-policies/${policyId}/disable`],
        ['DELETE', `/v1/backup-policies/${policyId}`],
      ] as const)
        expect((await call(method, url, { key: otherTenantKey })).statusCode, `${method} ${url}`).toBe(404);
      expect((await call('PATCH', `/v1/backup-policies/${policyId}`, { key: otherTenantKey, body: { name: 'x' } })).statusCode).toBe(404);
      expect(
        (await call('GET', '/v1/backup-policies', { key: otherTenantKey })).json().items.map((p: { policyId: string }) => p.policyId),
      ).not.toContain(policyId);
      // The same name in another tenant is fine.
      expect((await call('POST', '/v1/backup-policies', { key: otherTenantKey, body: { ...daily, name: 'tenancy' } })).statusCode).toBe(
        201,
      );

      for (const [body, field] of [
        [{ ...daily, name: 'all', scope: { allTenants: true } }, 'body.scope.allTenants'],
        [{ ...daily, name: 'theirs', scope: { tenantId: 'globex' } }, 'body.scope.tenantId'],
        [{ ...daily, name: 'files', type: 'files' }, 'body.type'],
      ] as const) {
        const refused = await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body });
        expect(refused.statusCode).toBe(403);
        expect(refused.json().errors[0].field).toBe(field);
      }
      const platform = await call('POST', '/v1/backup-policies', { body: { ...daily, name: 'platform-all', scope: { allTenants: true } } });
      expect(platform.statusCode).toBe(201);
      // The bootstrap key's tenant is 'default': the tenant admin sees it but may not change or run it.
      const platformId = platform.json().policyId;
      const shown = await call('GET', `/v1/backup-policies/${platformId}?minPosition=${platform.json().position}`);
      expect(shown.json().scope).toEqual({ allTenants: true });
      expect((await call('POST', `/v1/backup-policies/${platformId}/run`, { key: tenantAdminKey })).statusCode).toBe(403);
      expect(
        (await call('PATCH', `/v1/backup-policies/${platformId}`, { key: tenantAdminKey, body: { name: 'mine now' } })).statusCode,
      ).toBe(403);
    });

    it('runs a policy now: 202 with a backup id, the same one for a retried request, and the policy shows the run', async (context) => {
      if (skip) return context.skip();
      const { policyId } = (await call('POST', '/v1/backup-policies', { key: tenantAdminKey, body: { ...daily, name: 'run now' } })).json();
      const headers = { 'idempotency-key': `run-${policyId}` };
      const ran = await call('POST', `/v1/backup-policies/${policyId}/run`, { key: tenantAdminKey, headers });
      expect(ran.statusCode).toBe(202);
      const { backupId } = ran.json();
      expect(ran.json().status).toBe('queued');
      expect(ran.headers.location).toBe(`/v1/backups/${backupId}`);
      const again = await call('POST', `/v1/backup-policies/${policyId}/run`, { key: tenantAdminKey, headers });
      expect(again.statusCode).toBe(202);
      expect(again.json().backupId).toBe(backupId);

      const done = await until(async () => {
        const response = await call('GET', `/v1/backups/${backupId}`, { key: tenantAdminKey });
        return response.statusCode === 200 && !['queued', 'running'].includes(response.json().status) ? response.json() : undefined;
      }, 'the backup to finish');
      expect(done).toMatchObject({ status: 'completed', policyId, scope: { tenantId: 'default' } });
      const policy = (await call('GET', `/v1/backup-policies/${policyId}`, { key: tenantAdminKey })).json();
      expect(policy.lastRun).toMatchObject({ backupId, trigger: 'manual', status: 'completed' });
      expect(policy.lastBackupId).toBe(backupId);
      const backups = (await call('GET', '/v1/backups?pageSize=100', { key: tenantAdminKey }))
        .json()
        .items.filter((b: { policyId: string | null }) => b.policyId === policyId);
      expect(backups).toHaveLength(1);
    });
  });
}

e2e('embedded (PGlite)', async () => ({}));

e2e('PostgreSQL', async () => {
  const pg = postgresService();
  if (!pg.url) return undefined;
  return { DATABASE_URL: await createTestDatabase(pg.url) };
});
