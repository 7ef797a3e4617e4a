// #15.7: stores written before ids were per tenant hold `<category>-<id>` streams. Such a stream, appended
// by hand with the old name, stays its tenant's aggregate: read, updated (in place) and projected; its name
// claim (also of the old shape) stays its own. Another tenant creating the same id gets its own aggregate in
// its own scoped stream and can never touch the legacy one. On PGlite and on PostgreSQL.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { CATEGORY_NAME_SCOPE } from '../../src/commands/categories/index.js';
import { eventMetadata } from '../../src/commands/handle-command.js';
import { reserve } from '../../src/commands/reservations.js';
import { categoryStreamId } from '../../src/domain/categories/index.js';
import { formatPosition } from '../../src/ports/event-store.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH';

function suite(label: string, environment: () => Promise<Record<string, string> | undefined>) {
  describe(label, () => {
    let service: Service | undefined;
    let dataDir: string;
    const keys: Record<string, string> = {};

    const call = (method: Method, url: string, tenant: string, body?: unknown) =>
      service!.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${keys[tenant]}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });

    beforeAll(async () => {
      const env = await environment();
      if (!env) return;
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-legacy-streams-'));
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '10000', ...env });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      for (const tenant of ['acme', 'globex'])
        keys[tenant] = (
          await service.apiKeys.create({ tenantId: tenant, userId: `${tenant}-admin`, name: 'k', permissions: ['admin'] })
        ).apiKey;
    }, 120_000);

    afterAll(async () => {
      await service?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('reads, updates and projects a legacy category stream; another tenant gets its own category under that id', async (context) => {
      if (!service) return context.skip();
      const categoryId = randomUUID();
      const legacy = `category-${categoryId}`;
      const acme = { tenantId: 'acme', userId: 'old-release', commandId: randomUUID(), correlationId: randomUUID() };
      // What the service wrote before: the category under the old name, and its name claim naming that stream.
      const deps = { eventStore: service.eventStore, clock: () => new Date() };
      await reserve(deps, { scope: CATEGORY_NAME_SCOPE, tenantId: 'acme', value: 'Legacy', ownerStreamId: legacy, context: acme });
      const written = await service.eventStore.append(
        legacy,
        [
          {
            id: randomUUID(),
            type: 'CategoryCreated',
            data: { categoryId, name: 'Legacy', description: 'from before' },
            metadata: eventMetadata(acme, new Date().toISOString(), 1),
          },
        ],
        { expectedRevision: 'no_stream' },
      );

      // Read (projected) and updated in place.
      const read = await call('GET', `/v1/categories/${categoryId}?minPosition=${formatPosition(written.position)}`, 'acme');
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json()).toMatchObject({ categoryId, name: 'Legacy', revision: 0 });
      const renamed = await call('PATCH', `/v1/categories/${categoryId}`, 'acme', { name: 'Renamed' });
      expect(renamed.statusCode, renamed.body).toBe(200);
      expect((await service.eventStore.readStream(legacy)).map((event) => event.type)).toEqual(['CategoryCreated', 'CategoryRenamed']);
      const projected = await call('GET', `/v1/categories/${categoryId}?minPosition=${renamed.json().position}`, 'acme');
      expect(projected.json()).toMatchObject({ categoryId, name: 'Renamed', revision: 1 });
      // The old claim was its own: the old name is free again, the new one taken.
      expect((await call('POST', '/v1/categories', 'acme', { name: 'Renamed' })).statusCode).toBe(409);
      expect((await call('POST', '/v1/categories', 'acme', { name: 'Legacy' })).statusCode).toBe(201);
      // The owner creating the id again is refused as for any existing category, not given a second one.
      const again = await call('POST', '/v1/categories', 'acme', { categoryId, name: 'Twice' });
      expect(again.statusCode).toBe(409);

      // Another tenant: the id is free, and what it does stays in its scoped stream.
      const theirs = await call('POST', '/v1/categories', 'globex', { categoryId, name: 'Legacy' });
      expect(theirs.statusCode, theirs.body).toBe(201);
      const patched = await call('PATCH', `/v1/categories/${categoryId}`, 'globex', { name: 'Globex own' });
      expect(patched.statusCode, patched.body).toBe(200);
      const archived = await call('POST', `/v1/categories/${categoryId}/archive`, 'globex');
      expect(archived.statusCode, archived.body).toBe(200);
      expect((await service.eventStore.readStream(categoryStreamId('globex', categoryId))).map((event) => event.type)).toEqual([
        'CategoryCreated',
        'CategoryRenamed',
        'CategoryArchived',
      ]);
      expect((await service.eventStore.readStream(legacy)).map((event) => event.type)).toEqual(['CategoryCreated', 'CategoryRenamed']);
      const acmeView = await call('GET', `/v1/categories/${categoryId}?minPosition=${archived.json().position}`, 'acme');
      expect(acmeView.json()).toEqual(projected.json());
      const globexView = await call('GET', `/v1/categories/${categoryId}`, 'globex');
      expect(globexView.json()).toMatchObject({ name: 'Globex own', status: 'archived' });
      // The audit history by the old name is each tenant's own aggregate.
      expect((await call('GET', `/v1/audit/streams/${legacy}`, 'acme')).json()).toMatchObject({ streamId: legacy });
      expect((await call('GET', `/v1/audit/streams/${legacy}`, 'globex')).json()).toMatchObject({
        streamId: categoryStreamId('globex', categoryId),
      });
    }, 120_000);
  });
}

suite('embedded (PGlite)', async () => ({}));

suite('PostgreSQL', async () => {
  const pg = postgresService();
  if (!pg.url) return undefined;
  return { DATABASE_URL: await createTestDatabase(pg.url) };
});
