// #15.6: "not found" is one answer per resource type. Tenant B asking for tenant A's id and for an id nobody
// used gets byte-identical problems (type, title, status, detail, rule, errors) on every operation that takes
// an id, so no answer tells B which ids A holds. On the embedded store (PGlite) and on PostgreSQL.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { memoryOrchestrator, memoryRegistry } from '../support/memory-orchestrator.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface Ids {
  policyId: string;
  configTemplateId: string;
  configId: string;
  environmentId: string;
  deploymentId: string;
  backupId: string;
  batchId: string;
  tenantRestoreId: string;
}

/** The 25 operations of the issue (and their neighbours): method, URL and a valid body for an id. */
const operations = (ids: Ids, own: { environmentId: string }): [string, Method, string, unknown?][] => [
  ['backup-policy PATCH', 'PATCH', `/v1/backup-policies/${ids.policyId}`, { description: 'mine' }],
  ['backup-policy DELETE', 'DELETE', `/v1/backup-policies/${ids.policyId}`],
  ['backup-policy enable', 'POST', `/v1/backup-policies/${ids.policyId}/enable`],
  ['backup-policy disable', 'POST', `/v1/backup-policies/${ids.policyId}/disable`],
  ['backup-policy run', 'POST', `/v1/backup-policies/${ids.policyId}/run`],
  ['backup-policy GET', 'GET', `/v1/backup-policies/${ids.policyId}`],
  ['config-template PATCH', 'PATCH', `/v1/config-templates/${ids.configTemplateId}`, { description: 'mine' }],
  ['config-template DELETE', 'DELETE', `/v1/config-templates/${ids.configTemplateId}`],
  ['config-template render', 'POST', `/v1/config-templates/${ids.configTemplateId}/render`, { variables: {}, dryRun: true }],
  ['config-template validate', 'POST', `/v1/config-templates/${ids.configTemplateId}/validate`, { variables: {} }],
  ['config-template GET', 'GET', `/v1/config-templates/${ids.configTemplateId}`],
  ['config PATCH', 'PATCH', `/v1/configs/${ids.configId}`, { data: { A: '2' } }],
  ['config DELETE', 'DELETE', `/v1/configs/${ids.configId}`],
  [
    "render into another's configId",
    'POST',
    `/v1/config-templates/${ids.configTemplateId}/render`,
    { variables: {}, configId: ids.configId, name: 'x', environmentId: own.environmentId },
  ],
  ['config GET', 'GET', `/v1/configs/${ids.configId}`],
  ['environment PATCH', 'PATCH', `/v1/environments/${ids.environmentId}`, { name: 'Mine' }],
  ['environment DELETE', 'DELETE', `/v1/environments/${ids.environmentId}?force=true`],
  ['environment asOf', 'GET', `/v1/environments/${ids.environmentId}?asOf=2100-01-01T00:00:00Z`],
  ['environment GET', 'GET', `/v1/environments/${ids.environmentId}`],
  [
    'deployment releases',
    'POST',
    `/v1/deployments/${ids.deploymentId}/releases`,
    { version: '2', services: [{ name: 'web', type: 'frontend', image: 'localhost/web:2' }] },
  ],
  ['deployment rollback', 'POST', `/v1/deployments/${ids.deploymentId}/rollback`, {}],
  ['deployment scale', 'POST', `/v1/deployments/${ids.deploymentId}/scale`, { service: 'web', replicas: 2 }],
  ['deployment start', 'POST', `/v1/deployments/${ids.deploymentId}/start`, {}],
  ['deployment stop', 'POST', `/v1/deployments/${ids.deploymentId}/stop`, {}],
  ['deployment restart', 'POST', `/v1/deployments/${ids.deploymentId}/restart`, {}],
  ['deployment DELETE', 'DELETE', `/v1/deployments/${ids.deploymentId}`],
  ['deployment GET', 'GET', `/v1/deployments/${ids.deploymentId}`],
  ['backup validate', 'POST', `/v1/backups/${ids.backupId}/validate`],
  ['backup drill', 'POST', `/v1/backups/${ids.backupId}/drill`],
  ['backup GET', 'GET', `/v1/backups/${ids.backupId}`],
  ['batch undo', 'POST', `/v1/batches/${ids.batchId}/undo`],
  ['batch GET', 'GET', `/v1/batches/${ids.batchId}`],
  ['tenant-restore GET', 'GET', `/v1/tenant-restores/${ids.tenantRestoreId}`],
];

function suite(label: string, environment: () => Promise<Record<string, string> | undefined>) {
  describe(label, () => {
    let service: Service | undefined;
    let dataDir: string;
    let keyA: string;
    let keyB: string;
    let ids: Ids;
    let ownEnvironmentId: string;

    const call = (method: Method, url: string, key: string, body?: unknown) =>
      service!.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });

    async function created(method: Method, url: string, key: string, body: unknown, field: string): Promise<string> {
      const response = await call(method, url, key, body);
      expect(response.statusCode, response.body).toBeLessThan(300);
      return String(response.json()[field]);
    }

    async function until(check: () => Promise<boolean>, what: string) {
      const deadline = Date.now() + 30_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    beforeAll(async () => {
      const env = await environment();
      if (!env) return;
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-not-found-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', ...env });
      service = await startService(config, pino({ level: 'silent' }), {
        defaultMetrics: false,
        orchestrators: memoryRegistry(memoryOrchestrator({ healthyAfterMs: 10 })),
      });
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['admin'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['admin'] })).apiKey;

      // Tenant A's resources, one of each kind.
      const environmentId = await created(
        'POST',
        '/v1/environments',
        keyA,
        { name: 'production', type: 'production', orchestrator: 'docker' },
        'environmentId',
      );
      ownEnvironmentId = await created(
        'POST',
        '/v1/environments',
        keyB,
        { name: 'production', type: 'production', orchestrator: 'docker' },
        'environmentId',
      );
      const configId = await created(
        'POST',
        '/v1/configs',
        keyA,
        { name: 'app', type: 'configmap', data: { A: '1' }, environmentId },
        'configId',
      );
      const configTemplateId = await created(
        'POST',
        '/v1/config-templates',
        keyA,
        { name: 'T', configType: 'configmap', data: { A: 'x' } },
        'templateId',
      );
      const policyId = await created(
        'POST',
        '/v1/backup-policies',
        keyA,
        { name: 'nightly', type: 'database', schedule: { frequency: 'daily', time: '02:00' }, retention: { days: 30, minCount: 7 } },
        'policyId',
      );
      const deploymentId = await created(
        'POST',
        '/v1/deployments',
        keyA,
        {
          name: 'shop',
          applicationId: 'shop',
          environmentId,
          version: '1',
          services: [{ name: 'web', type: 'frontend', image: 'localhost/web:1' }],
        },
        'deploymentId',
      );
      await until(async () => (await call('GET', `/v1/deployments/${deploymentId}`, keyA)).json().status === 'running', 'deployment');
      const backupId = await created('POST', '/v1/backups', keyA, { name: 'mine', type: 'database' }, 'backupId');
      const batchId = await created(
        'POST',
        '/v1/batches',
        keyA,
        { operation: 'create', items: [{ templateId: randomUUID(), name: `Course ${randomUUID()}`, templateType: 'base' }] },
        'batchId',
      );
      await until(async () => (await call('GET', `/v1/batches/${batchId}`, keyA)).json().status === 'completed', 'batch');
      await created('POST', '/v1/categories', keyA, { name: `Cat ${randomUUID()}` }, 'categoryId');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const at = new Date(Date.now() - 5).toISOString();
      const tenantRestoreId = await created('POST', '/v1/tenant-restores', keyA, { at }, 'restoreId');
      ids = { policyId, configTemplateId, configId, environmentId, deploymentId, backupId, batchId, tenantRestoreId };
    }, 300_000);

    afterAll(async () => {
      await service?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    /** What must not differ: everything but where and which request (instance, requestId). */
    const comparable = (response: { statusCode: number; headers: Record<string, unknown>; body: string }) => {
      const { instance: _instance, requestId: _requestId, ...rest } = JSON.parse(response.body) as Record<string, unknown>;
      return { status: response.statusCode, contentType: response.headers['content-type'], ...rest };
    };

    it("answers another tenant's id exactly as an unused one, on every operation", async (context) => {
      if (!service) return context.skip();
      const random: Ids = {
        policyId: randomUUID(),
        configTemplateId: randomUUID(),
        configId: randomUUID(),
        environmentId: randomUUID(),
        deploymentId: randomUUID(),
        backupId: randomUUID(),
        batchId: randomUUID(),
        tenantRestoreId: randomUUID(),
      };
      const own = { environmentId: ownEnvironmentId };
      const theirs = operations(ids, own);
      const unused = operations(random, own);
      const differing: unknown[] = [];
      for (const [index, [name, method, url, body]] of theirs.entries()) {
        const [, , unusedUrl, unusedBody] = unused[index]!;
        const foreign = comparable(await call(method, url, keyB, body));
        const missing = comparable(await call(method, unusedUrl, keyB, unusedBody));
        expect([name, foreign.status]).toEqual([name, 404]);
        if (JSON.stringify(foreign) !== JSON.stringify(missing)) differing.push({ name, foreign, missing });
      }
      expect(differing).toEqual([]);
      // Nothing B did reached A's resources.
      expect((await call('GET', `/v1/environments/${ids.environmentId}`, keyA)).json()).toMatchObject({ name: 'production', revision: 0 });
      expect((await call('GET', `/v1/deployments/${ids.deploymentId}`, keyA)).json()).toMatchObject({ status: 'running' });
      // 70 requests on the embedded store share its one thread with the backup and the reconciler: no time
      // limit of ours to meet, only the runner's.
    }, 300_000);
  });
}

suite('embedded (PGlite)', async () => ({}));

suite('PostgreSQL', async () => {
  const pg = postgresService();
  if (!pg.url) return undefined;
  return { DATABASE_URL: await createTestDatabase(pg.url) };
});
