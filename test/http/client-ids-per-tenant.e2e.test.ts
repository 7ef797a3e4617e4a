// #15.7: client-chosen ids are per tenant. Tenant B creating an id tenant A already uses gets exactly the
// answer a free id gets (201, or 202 for a deployment; same body shape) and its own resource; A's resource is unchanged, and what B
// does to "its" id never reaches A's. On the embedded store (PGlite) and on PostgreSQL.
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
type Tenant = 'acme' | 'globex';

interface Family {
  readonly name: string;
  readonly collection: string;
  readonly idField: string;
  /** A valid create body for the id; `label` tells the tenants' resources apart. */
  readonly body: (id: string, label: string, environmentId: string) => Record<string, unknown>;
  readonly update?: (label: string) => Record<string, unknown>;
  readonly remove?: (url: string) => [Method, string];
}

const families: Family[] = [
  {
    name: 'category',
    collection: '/v1/categories',
    idField: 'categoryId',
    body: (categoryId, label) => ({ categoryId, name: `Category ${label}` }),
    update: (label) => ({ name: `Renamed ${label}` }),
  },
  {
    name: 'environment',
    collection: '/v1/environments',
    idField: 'environmentId',
    body: (environmentId, label) => ({ environmentId, name: `env-${label}`, type: 'staging', orchestrator: 'docker' }),
    update: (label) => ({ name: `env-renamed-${label}` }),
    remove: (url) => ['DELETE', `${url}?force=true`],
  },
  {
    name: 'config',
    collection: '/v1/configs',
    idField: 'configId',
    body: (configId, label) => ({ configId, name: `cfg-${label}`, type: 'configmap', data: { LABEL: label } }),
    update: (label) => ({ data: { LABEL: `${label}-2` } }),
    remove: (url) => ['DELETE', url],
  },
  {
    name: 'backup policy',
    collection: '/v1/backup-policies',
    idField: 'policyId',
    body: (policyId, label) => ({
      policyId,
      name: `policy-${label}`,
      type: 'database',
      schedule: { frequency: 'daily', time: '02:00' },
      retention: { days: 30, minCount: 7 },
    }),
    update: (label) => ({ description: `changed by ${label}` }),
    remove: (url) => ['DELETE', url],
  },
  {
    name: 'deployment',
    collection: '/v1/deployments',
    idField: 'deploymentId',
    body: (deploymentId, label, environmentId) => ({
      deploymentId,
      name: `shop-${label}`,
      applicationId: 'shop',
      environmentId,
      version: '1',
      services: [{ name: 'web', type: 'frontend', image: 'localhost/web:1' }],
    }),
  },
];

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
/** What a create answers, with what differs between any two creates (ids, times, positions) masked. */
const shapeOf = (response: { statusCode: number; headers: Record<string, unknown>; body: string }) => ({
  status: response.statusCode,
  location: String(response.headers.location ?? '').replace(UUID, '<id>'),
  body: response.body
    .replace(UUID, '<id>')
    .replace(ISO_TIME, '<time>')
    .replace(/"position":"[^"]*"/g, '"position":"<position>"')
    .replace(/(acme|globex)/g, '<tenant>'),
});

function suite(label: string, environment: () => Promise<Record<string, string> | undefined>) {
  describe(label, () => {
    let service: Service | undefined;
    let dataDir: string;
    const keys = {} as Record<Tenant, string>;
    const environments = {} as Record<Tenant, string>;

    const call = (method: Method, url: string, tenant: Tenant, body?: unknown) =>
      service!.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${keys[tenant]}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    /** A GET once the read models have caught up with `position`. */
    const read = (url: string, tenant: Tenant, position: string) => call('GET', `${url}?minPosition=${position}`, tenant);

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
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-ids-per-tenant-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', ...env });
      service = await startService(config, pino({ level: 'silent' }), {
        defaultMetrics: false,
        orchestrators: memoryRegistry(memoryOrchestrator({ healthyAfterMs: 10 })),
      });
      for (const tenant of ['acme', 'globex'] as const) {
        keys[tenant] = (
          await service.apiKeys.create({ tenantId: tenant, userId: `${tenant}-admin`, name: 'k', permissions: ['admin'] })
        ).apiKey;
        const created = await call('POST', '/v1/environments', tenant, { name: 'home', type: 'production', orchestrator: 'docker' });
        expect(created.statusCode, created.body).toBe(201);
        environments[tenant] = created.json().environmentId;
      }
    }, 120_000);

    afterAll(async () => {
      await service?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    for (const family of families) {
      it(`${family.name}: another tenant's id is free for a create, and each tenant keeps its own resource`, async (context) => {
        if (!service) return context.skip();
        const id = randomUUID();
        const theirs = await call('POST', family.collection, 'acme', family.body(id, 'acme', environments.acme));
        expect([201, 202], theirs.body).toContain(theirs.statusCode); // a deployment is accepted, its rollout runs on
        const url = `${family.collection}/${id}`;
        if (family.name === 'deployment')
          await until(async () => (await call('GET', url, 'acme')).json().status === 'running', 'the deployment to run');
        const before = await read(url, 'acme', theirs.json().position);
        expect(before.statusCode).toBe(200);

        // The same id and a free one answer alike for globex: created, and its own resource.
        const taken = await call('POST', family.collection, 'globex', family.body(id, 'globex', environments.globex));
        const free = await call('POST', family.collection, 'globex', family.body(randomUUID(), 'globex-free', environments.globex));
        expect(taken.statusCode, taken.body).toBe(theirs.statusCode);
        expect(shapeOf(taken)).toEqual({ ...shapeOf(free), body: shapeOf(free).body.replaceAll('globex-free', 'globex') });
        const mine = await read(url, 'globex', taken.json().position);
        expect(mine.statusCode).toBe(200);
        expect(mine.body).toContain('globex');
        expect(mine.body).not.toContain('acme');

        let position = taken.json().position as string;
        if (family.update) {
          const updated = await call('PATCH', url, 'globex', family.update('globex'));
          expect(updated.statusCode, updated.body).toBe(200);
          position = updated.json().position;
        }
        if (family.remove) {
          const [method, target] = family.remove(url);
          const removed = await call(method, target, 'globex');
          expect(removed.statusCode, removed.body).toBeLessThan(300);
          position = removed.json().position ?? position;
          // Gone for globex: the same not-found as an id nobody used.
          const gone = await read(url, 'globex', position);
          const unused = await read(`${family.collection}/${randomUUID()}`, 'globex', position);
          const problem = (response: typeof gone) => {
            const { instance: _instance, requestId: _requestId, ...rest } = JSON.parse(response.body) as Record<string, unknown>;
            return { status: response.statusCode, contentType: response.headers['content-type'], ...rest };
          };
          expect(gone.statusCode).toBe(404);
          expect(problem(gone)).toEqual(problem(unused));
        }
        // Nothing globex did reached acme's resource: same revision, same content.
        const after = await read(url, 'acme', position);
        expect(after.json()).toEqual(before.json());
      }, 120_000);
    }
  });
}

suite('embedded (PGlite)', async () => ({}));

suite('PostgreSQL', async () => {
  const pg = postgresService();
  if (!pg.url) return undefined;
  return { DATABASE_URL: await createTestDatabase(pg.url) };
});
