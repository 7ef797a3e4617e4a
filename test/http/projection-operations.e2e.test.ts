// Operations through the real service, on embedded PGlite and on a real PostgreSQL:
// #7.9  a rebuild requested while any instance holds the projection's rebuild lock is 409 rebuild.in_progress;
// #7.14 a transaction held open on the store's database shows in /ready and
//       /metrics as the horizon, and a query for a position the store acknowledged answers 503
//       read_model.lagging with Retry-After, not 400 min_position.beyond_head.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import type { SqlDatabase } from '../../src/ports/sql-database.js';
import { loadConfig } from '../../src/config.js';
import { rebuildLockKey } from '../../src/projections/projection-engine.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

interface Environment {
  readonly variables: Record<string, string>;
  /** A database handle of "another instance", to hold the rebuild lock with. */
  otherInstance(service: Service): SqlDatabase;
}

function operations(
  label: string,
  environment: () => Promise<Environment>,
  more?: (context: () => { service: Service; adminKey: string }) => void,
) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let env: Environment;

    beforeAll(async () => {
      env = await environment();
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-ops-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        READ_YOUR_WRITES_TIMEOUT_MS: '300',
        HORIZON_DEGRADED_SECONDS: '0',
        ...env.variables,
      });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('#7.9 answers 409 rebuild.in_progress while another instance holds the rebuild lock, 202 once it is free', async () => {
      const other = env.otherInstance(service);
      const lock = await other.tryAcquireLease(rebuildLockKey('categories'));
      expect(lock).toBeDefined();
      const rebuild = () =>
        service.http.inject({
          method: 'POST',
          url: '/v1/admin/projections/categories/rebuild',
          headers: { authorization: `Bearer ${adminKey}` },
        });
      try {
        const refused = await rebuild();
        expect(refused.statusCode).toBe(409);
        expect(refused.headers['content-type']).toContain('application/problem+json');
        expect(refused.json()).toMatchObject({ status: 409, type: expect.stringMatching(/\/rebuild\.in_progress$/) });
      } finally {
        await lock!.release();
      }
      expect((await rebuild()).statusCode).toBe(202);
      const deadline = Date.now() + 15_000;
      while ((await service.projections.status()).some((s) => s.state === 'rebuilding') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    });

    it('#7.14 reports the horizon in /ready and /metrics with nothing held open', async () => {
      const ready = await service.http.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ ready: true, degraded: false, horizon: { eventsAboveHorizon: 0, degraded: false } });
      const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^event_store_events_above_horizon 0$/m);
      expect(metrics).toMatch(/^event_store_horizon_oldest_transaction_seconds /m);
    });

    more?.(() => ({ service, adminKey }));
  });
}

operations('operations on embedded PGlite', async () => ({ variables: {}, otherInstance: (service) => service.db }));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] operations on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  const others: SqlDatabase[] = [];
  let url: string;
  afterAll(async () => void (await Promise.all(others.map((db) => db.close()))));
  operations(
    'operations on PostgreSQL',
    async () => {
      url = await createTestDatabase(postgres.url!);
      return {
        variables: { DATABASE_URL: url },
        otherInstance: () => {
          const db = createPgDatabase({ connectionString: url, maxConnections: 2 });
          others.push(db);
          return db;
        },
      };
    },
    (context) => {
      it('#7.14 a transaction held open in the database: horizon reported, acknowledged positions are 503 read_model.lagging', async () => {
        const { service, adminKey } = context();
        const call = (method: 'GET' | 'POST', path: string, body?: object) =>
          service.http.inject({ method, url: path, headers: { authorization: `Bearer ${adminKey}` }, ...(body ? { payload: body } : {}) });
        const elsewhere = new pg.Client({ connectionString: url }); // the service's own database
        await elsewhere.connect();
        let open = false;
        try {
          await elsewhere.query('BEGIN');
          await elsewhere.query('SELECT pg_current_xact_id()'); // an id of its own: it now holds the horizon
          open = true;
          await new Promise((resolve) => setTimeout(resolve, 50));
          const created = await call('POST', '/v1/categories', { name: `Held ${Date.now()}` });
          expect(created.statusCode).toBe(201);
          const { position } = created.json();

          const lagging = await call('GET', `/v1/categories?minPosition=${position}`);
          expect(lagging.statusCode).toBe(503);
          expect(lagging.json()).toMatchObject({ type: expect.stringMatching(/\/read_model\.lagging$/) });
          expect(Number(lagging.headers['retry-after'])).toBeGreaterThan(0);

          const ready = await call('GET', '/ready');
          expect(ready.statusCode).toBe(200);
          const body = ready.json();
          expect(body).toMatchObject({ ready: true, degraded: true, horizon: { degraded: true } });
          expect(body.horizon.eventsAboveHorizon).toBeGreaterThanOrEqual(1);
          expect(body.horizon.oldestTransactionSeconds).toBeGreaterThan(0.04);
          const metrics = (await call('GET', '/metrics')).body;
          expect(Number(/^event_store_events_above_horizon (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
          expect(Number(/^event_store_horizon_oldest_transaction_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0.04);

          // A position no event has is still refused, as before.
          const far = `${BigInt(position.split('.')[0]) + 1_000_000n}.0`;
          expect((await call('GET', `/v1/categories?minPosition=${far}`)).json()).toMatchObject({
            status: 400,
            errors: [{ rule: 'beyond_head' }],
          });

          await elsewhere.query('COMMIT');
          open = false;
          expect((await call('GET', `/v1/categories?minPosition=${position}`)).statusCode).toBe(200);
        } finally {
          if (open) await elsewhere.query('ROLLBACK').catch(() => undefined);
          await elsewhere.end();
        }
      });

      it('#7.14/#7.23 a transaction held open in another database of the server holds nothing back', async () => {
        const { service, adminKey } = context();
        const call = (method: 'GET' | 'POST', path: string, body?: object) =>
          service.http.inject({ method, url: path, headers: { authorization: `Bearer ${adminKey}` }, ...(body ? { payload: body } : {}) });
        const elsewhere = new pg.Client({ connectionString: await createTestDatabase(postgres.url!) });
        await elsewhere.connect();
        try {
          await elsewhere.query('BEGIN');
          await elsewhere.query('SELECT pg_current_xact_id()');
          const created = await call('POST', '/v1/categories', { name: `Elsewhere ${Date.now()}` });
          expect(created.statusCode).toBe(201);
          expect((await call('GET', `/v1/categories?minPosition=${created.json().position}`)).statusCode).toBe(200);
        } finally {
          await elsewhere.query('ROLLBACK').catch(() => undefined);
          await elsewhere.end();
        }
      });
    },
  );
});
