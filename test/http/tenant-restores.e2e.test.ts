// Tenant point-in-time restore end to end (PGlite, and PostgreSQL when available), with an injected clock
// so that events fall at known moments: the dry run lists what would change (bounded); the POST queues the
// restore (202) and a job runs it, appending restore events (never rewrites: the log only grows) so
// categories and templates read as they were; a retry with the same Idempotency-Key appends nothing, nor
// does a job run twice; a name taken since is a reported per-aggregate failure; a target in the future or
// before the first event is refused before any write, a pruned history fails the restore whole; another
// tenant's restore does not wait behind a tenant's queue of them.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { categoryStreamId } from '../../src/domain/categories/index.js';
import { tenantRestoreStreamId } from '../../src/domain/tenant-restores/index.js';
import type { FeatureModule } from '../../src/features/feature-module.js';
import { features } from '../../src/features/index.js';
import { tenantRestoresFeature } from '../../src/features/tenant-restores.js';
import { comparePositions } from '../../src/ports/event-store.js';
import type { JobHandler } from '../../src/ports/job-queue.js';
import { TENANT_RESTORE_QUEUE } from '../../src/processes/tenant-restores/tenant-restore-process.js';

/** The tenant-restore feature with its worker held at a gate the test opens, and the worker itself at hand. */
function gatedTenantRestores() {
  let open: () => void = () => undefined;
  let gate = Promise.resolve();
  const held = {
    worker: undefined as JobHandler | undefined,
    close: () => void (gate = new Promise<void>((resolve) => (open = resolve))),
    open: () => open(),
  };
  const feature: FeatureModule = {
    name: tenantRestoresFeature.name,
    create(deps) {
      const created = tenantRestoresFeature.create(deps);
      const jobWorkers = (created.jobWorkers ?? []).map((worker) => {
        held.worker = worker.handler;
        return { ...worker, handler: async (job: Parameters<JobHandler>[0]) => (await gate, worker.handler(job)) };
      });
      return { ...created, jobWorkers };
    },
  };
  return { held, features: features.map((module) => (module === tenantRestoresFeature ? feature : module)) };
}

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let acme: string;
    let globex: string;
    let now = new Date('2026-05-01T10:00:00Z');
    const gated = gatedTenantRestores();

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-tenant-restore-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        READ_YOUR_WRITES_TIMEOUT_MS: '10000',
        LONG_JOBS_PER_TENANT: '1',
        TENANT_RESTORE_DRY_RUN_MAX: '6',
        ...(await environment()),
      });
      service = await startService(config, pino({ level: 'silent' }), {
        defaultMetrics: false,
        clock: () => now,
        features: gated.features,
      });
      acme = (await service.apiKeys.create({ tenantId: 'acme', userId: 'ann', name: 'a', permissions: ['admin'] })).apiKey;
      globex = (await service.apiKeys.create({ tenantId: 'globex', userId: 'gus', name: 'g', permissions: ['admin'] })).apiKey;
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: 'GET' | 'POST' | 'PATCH',
      url: string,
      options: { key?: string; body?: object; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? acme}`, ...options.headers },
        ...(options.body ? { payload: options.body } : {}),
      });
    const created = async (url: string, body: object) => {
      const response = await call('POST', url, { body });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    };
    /** Polls (bounded) until the restore has finished, and answers its record. */
    const finished = async (restoreId: string, key = acme) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const record = await call('GET', `/v1/tenant-restores/${restoreId}`, { key });
        expect(record.statusCode, record.body).toBe(200);
        if (!['queued', 'running'].includes(record.json().status)) return record;
        if (Date.now() > deadline) throw new Error(`restore ${restoreId} still ${record.json().status}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    /** POSTs a restore: 202 queued with its Location; answers the restore id. */
    const queued = async (body: object, options: { key?: string; headers?: Record<string, string> } = {}) => {
      const response = await call('POST', '/v1/tenant-restores', { body, ...options });
      expect(response.statusCode, response.body).toBe(202);
      expect(response.json()).toMatchObject({ status: 'queued', position: expect.any(String) });
      const { restoreId } = response.json();
      expect(response.headers.location).toBe(`/v1/tenant-restores/${restoreId}`);
      return restoreId as string;
    };
    /** The log's length once everything committed so far is readable: a marker appended now is read back
     * first (readers stop below transactions still in flight, so a count taken at once could trail). */
    const logSize = async () => {
      const marker = randomUUID();
      await service.eventStore.append(`marker-${marker}`, [{ id: marker, type: 'Marker', data: {}, metadata: {} }], {
        expectedRevision: 'no_stream',
      });
      for (;;) {
        const events = (await service.eventStore.readAll({ maxCount: 100_000 })).events;
        if (events.some((event) => event.id === marker)) return events.filter((event) => !event.streamId.startsWith('marker-')).length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    let alpha: string;
    let beta: string;
    let gamma: string;
    let templateId: string;

    it('dry-runs, restores by appending, and repeats nothing on a retry', async () => {
      alpha = (await created('/v1/categories', { name: 'Alpha' })).categoryId;
      beta = (await created('/v1/categories', { name: 'Beta' })).categoryId;
      templateId = (await created('/v1/templates', { name: 'Course one', templateType: 'base', description: 'first' })).templateId;
      expect((await call('POST', '/v1/categories', { key: globex, body: { name: 'Theirs' } })).statusCode).toBe(201);

      now = new Date('2026-05-01T11:00:00Z');
      expect((await call('PATCH', `/v1/categories/${alpha}`, { body: { name: 'Alpha two' } })).statusCode).toBe(200);
      expect((await call('POST', `/v1/categories/${beta}/archive`)).statusCode).toBe(200);
      gamma = (await created('/v1/categories', { name: 'Gamma' })).categoryId;
      expect((await call('PATCH', `/v1/templates/${templateId}`, { body: { description: 'second' } })).statusCode).toBe(200);

      now = new Date('2026-05-01T12:00:00Z');
      const before = await logSize();
      const dry = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', dryRun: true } });
      expect(dry.statusCode, dry.body).toBe(200);
      const changes = dry.json().changes as { aggregateId: string; action: string; changed: string[] }[];
      const byId = new Map(changes.map((change) => [change.aggregateId, change]));
      expect(byId.get(alpha)).toMatchObject({ action: 'restore', changed: ['name'] });
      expect(byId.get(beta)).toMatchObject({ action: 'restore', changed: ['status'] });
      expect(byId.get(gamma)).toMatchObject({ action: 'archive' });
      expect(byId.get(templateId)).toMatchObject({ action: 'restore', changed: ['content'] });
      expect(changes).toHaveLength(4);
      expect(await logSize()).toBe(before);

      const headers = { 'idempotency-key': 'restore-0001' };
      const restoreId = await queued({ at: '2026-05-01T10:30:00Z' }, { headers });
      const run = await finished(restoreId);
      expect(run.json()).toMatchObject({
        status: 'completed',
        planned: 4,
        requestedAt: '2026-05-01T12:00:00.000Z',
        result: { archived: 1, restored: 3, failures: [] },
        error: null,
      });
      const { eventPosition } = run.json();
      const after = await logSize();
      expect(after).toBeGreaterThan(before);

      const category = async (id: string) => (await call('GET', `/v1/categories/${id}?minPosition=${eventPosition}`)).json();
      expect(await category(alpha)).toMatchObject({ name: 'Alpha', status: 'active' });
      expect(await category(beta)).toMatchObject({ name: 'Beta', status: 'active' });
      expect(await category(gamma)).toMatchObject({ name: 'Gamma', status: 'archived' });
      const template = (await call('GET', `/v1/templates/${templateId}?minPosition=${eventPosition}`)).json();
      expect(template).toMatchObject({ description: 'first' });
      // History is kept: the rename is still in the log, followed by the restore's rename.
      const history = (await call('GET', `/v1/audit/streams/category-${alpha}`)).json().items.map((item: { type: string }) => item.type);
      expect(history).toEqual(['CategoryCreated', 'CategoryRenamed', 'CategoryRenamed']);

      const again = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z' }, headers });
      expect(again.statusCode).toBe(202);
      expect(again.json()).toMatchObject({ restoreId, status: 'completed' });
      expect(await logSize()).toBe(after);

      const record = await call('GET', `/v1/tenant-restores/${restoreId}`);
      expect(record.json()).toEqual(run.json());
      expect((await call('GET', `/v1/tenant-restores/${restoreId}`, { key: globex })).statusCode).toBe(404);
      // The other tenant's category was never touched.
      const theirs = (await call('GET', '/v1/categories', { key: globex })).json().items;
      expect(theirs).toMatchObject([{ name: 'Theirs', status: 'active', revision: 0 }]);
    });

    it('reports a name taken since as a failure of that aggregate, and restores the others', async () => {
      now = new Date('2026-05-01T13:00:00Z');
      expect((await call('PATCH', `/v1/categories/${alpha}`, { body: { name: 'Alpha three' } })).statusCode).toBe(200);
      const squatter = (await created('/v1/categories', { name: 'Alpha' })).categoryId;
      expect((await call('PATCH', `/v1/categories/${beta}`, { body: { description: 'changed' } })).statusCode).toBe(200);
      now = new Date('2026-05-01T14:00:00Z');
      // Only alpha and beta: the squatter (created after the target) keeps its name.
      const run = await finished(await queued({ at: '2026-05-01T12:30:00Z', ids: [alpha, beta] }));
      expect(run.json()).toMatchObject({
        status: 'partially_failed',
        result: { failures: [{ aggregateType: 'category', aggregateId: alpha, rule: 'category.name.unique' }] },
      });
      const { eventPosition } = run.json();
      expect((await call('GET', `/v1/categories/${beta}?minPosition=${eventPosition}`)).json()).toMatchObject({ description: '' });
      expect((await call('GET', `/v1/categories/${squatter}`)).json()).toMatchObject({ name: 'Alpha', status: 'active' });
    });

    it('refuses targets the log cannot answer and bad input, naming the field, writing nothing', async () => {
      const before = await logSize();
      for (const [body, status, field] of [
        [{ at: '2026-06-01T00:00:00Z' }, 400, 'body.at'],
        [{ at: '2026-04-01T00:00:00Z' }, 400, 'body.at'],
        [{ position: '1.1' }, 400, 'body.position'],
        [{ position: '99999999999.1' }, 400, 'body.position'],
        [{ at: '2026-05-01T10:30:00Z', position: '1.1' }, 400, 'body.at'],
        [{}, 400, 'body.at'],
        [{ at: 'noon' }, 400, 'body.at'],
        [{ at: '2026-05-01T10:30:00Z', types: ['backup'] }, 400, 'body.types'],
        [{ at: '2026-05-01T10:30:00Z', ids: ['x'] }, 400, 'body.ids'],
      ] as const) {
        const response = await call('POST', '/v1/tenant-restores', { body });
        expect(response.statusCode, JSON.stringify(body)).toBe(status);
        expect(JSON.stringify(response.json().errors), JSON.stringify(body)).toContain(field);
      }
      expect(await logSize()).toBe(before);
    });

    it('brings a template deleted since back, and deletes again one that was deleted then', async () => {
      now = new Date('2026-05-01T15:00:00Z');
      const kept = (await created('/v1/templates', { name: 'Kept', templateType: 'base' })).templateId;
      const gone = (await created('/v1/templates', { name: 'Gone', templateType: 'base' })).templateId;
      expect(
        (await service.http.inject({ method: 'DELETE', url: `/v1/templates/${gone}`, headers: { authorization: `Bearer ${acme}` } }))
          .statusCode,
      ).toBeLessThan(300);
      now = new Date('2026-05-01T16:00:00Z');
      expect(
        (await service.http.inject({ method: 'DELETE', url: `/v1/templates/${kept}`, headers: { authorization: `Bearer ${acme}` } }))
          .statusCode,
      ).toBeLessThan(300);
      expect((await call('POST', `/v1/templates/${gone}/undelete`)).statusCode).toBeLessThan(300);
      now = new Date('2026-05-01T17:00:00Z');
      const dry = (
        await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T15:30:00Z', ids: [kept, gone], dryRun: true } })
      ).json();
      expect(dry.changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ aggregateId: kept, action: 'restore', steps: ['undelete'] }),
          expect.objectContaining({ aggregateId: gone, action: 'delete', steps: ['delete'] }),
        ]),
      );
      const run = await finished(await queued({ at: '2026-05-01T15:30:00Z', ids: [kept, gone] }));
      expect(run.json()).toMatchObject({ status: 'completed', result: { restored: 2, failures: [] } });
      const { eventPosition } = run.json();
      expect((await call('GET', `/v1/templates/${kept}?minPosition=${eventPosition}`)).statusCode).toBe(200);
      expect((await call('GET', `/v1/templates/${gone}?minPosition=${eventPosition}`)).statusCode).toBe(404);
    });

    it('bounds a dry run: beyond TENANT_RESTORE_DRY_RUN_MAX aggregates a 422 asks to narrow it', async () => {
      // acme has 7 categories and templates by now; the bound here is 6.
      const refused = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', dryRun: true } });
      expect(refused.statusCode, refused.body).toBe(422);
      expect(refused.json()).toMatchObject({ rule: 'tenant_restore.dry_run.too_many' });
      expect(JSON.stringify(refused.json().errors)).toContain('ids');
      const narrowed = await call('POST', '/v1/tenant-restores', {
        body: { at: '2026-05-01T10:30:00Z', types: ['template'], dryRun: true },
      });
      expect(narrowed.statusCode, narrowed.body).toBe(200);
    });

    it('retries a job that died after its steps (twice at once, then again) without appending any step twice', async () => {
      now = new Date('2026-05-01T18:00:00Z');
      expect((await call('PATCH', `/v1/categories/${alpha}`, { body: { name: 'Alpha retried' } })).statusCode).toBe(200);
      expect((await call('PATCH', `/v1/categories/${beta}`, { body: { description: 'retried' } })).statusCode).toBe(200);
      now = new Date('2026-05-01T19:00:00Z');
      const body = { at: '2026-05-01T17:30:00Z', ids: [alpha, beta] };
      const steps = (await call('POST', '/v1/tenant-restores', { body: { ...body, dryRun: true } }))
        .json()
        .changes.flatMap((change: { steps: string[] }) => change.steps);
      expect(steps).toEqual(['rename', 'describe']);
      await logSize();
      const head = await service.eventStore.headPosition();
      gated.held.close();
      try {
        const restoreId = await queued(body);
        const job = {
          id: `retry-${restoreId}`,
          queue: TENANT_RESTORE_QUEUE,
          payload: { restoreId, tenantId: 'acme', userId: 'ann', correlationId: restoreId },
        };
        // The first attempt dies after its steps, before it records the outcome (the service stopped).
        const append = service.eventStore.append;
        service.eventStore.append = async (streamId, events, options) => {
          if (events.some((event) => event.type === 'TenantRestoreCompleted')) throw new Error('the service stopped');
          return append(streamId, events, options);
        };
        try {
          await expect(gated.held.worker!({ ...job, attempt: 1 })).rejects.toThrow('the service stopped');
        } finally {
          service.eventStore.append = append;
        }
        expect((await call('GET', `/v1/tenant-restores/${restoreId}`)).json()).toMatchObject({ status: 'running', planned: 2 });
        // Then two attempts at once, then one more.
        await Promise.all([gated.held.worker!({ ...job, attempt: 2 }), gated.held.worker!({ ...job, attempt: 2 })]);
        await gated.held.worker!({ ...job, attempt: 3 });
        // The outcome counts what the first attempt did: the retries planned the same steps.
        expect((await finished(restoreId)).json()).toMatchObject({ status: 'completed', result: { restored: 2, failures: [] } });
      } finally {
        gated.held.open();
      }
      // Requested, Started, the two steps (and the rename's name claims), Completed: each once, however often
      // the job ran; no command id wrote twice.
      await logSize();
      const appended = (await service.eventStore.readAll({ after: head, maxCount: 100_000 })).events.filter(
        (event) => !event.streamId.startsWith('marker-'),
      );
      const types = appended.map((event) => event.type);
      for (const type of [
        'TenantRestoreRequested',
        'TenantRestoreStarted',
        'CategoryRenamed',
        'CategoryDescribed',
        'TenantRestoreCompleted',
      ])
        expect(
          types.filter((each) => each === type),
          type,
        ).toHaveLength(1);
      const commands = appended.map((event) => `${event.streamId} ${String(event.metadata.commandId)}`);
      expect(new Set(commands).size).toBe(commands.length);
    });

    it("starts another tenant's restore before the last of a tenant's queued ones (LONG_JOBS_PER_TENANT 1)", async () => {
      now = new Date('2026-05-01T20:00:00Z');
      gated.held.close();
      const ofAcme: string[] = [];
      let ofGlobex: string;
      try {
        for (let i = 0; i < 3; i++) ofAcme.push(await queued({ at: '2026-05-01T10:30:00Z', ids: [alpha] }));
        ofGlobex = await queued({ at: '2026-05-01T10:30:00Z' }, { key: globex });
        // All four are jobs before the first may run: one held at the gate, three waiting.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const counts = await service.queue.counts(TENANT_RESTORE_QUEUE);
          if (counts.active + counts.waiting + counts.delayed >= 4) break;
          if (Date.now() > deadline) throw new Error(`jobs not enqueued: ${JSON.stringify(counts)}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        gated.held.open();
      }
      for (const id of ofAcme) await finished(id);
      await finished(ofGlobex, globex);
      const startedAt = async (tenantId: string, restoreId: string) => {
        const events = await service.eventStore.readStream(tenantRestoreStreamId(tenantId, restoreId));
        return events.find((event) => event.type === 'TenantRestoreStarted')!.position;
      };
      const acmeStarts = await Promise.all(ofAcme.map((id) => startedAt('acme', id)));
      const globexStart = await startedAt('globex', ofGlobex);
      expect(comparePositions(globexStart, acmeStarts.at(-1)!)).toBeLessThan(0);
    });

    it('fails whole when an aggregate’s history was pruned, and a dry run says why at once', async () => {
      await service.eventStore.deleteStream(categoryStreamId('acme', gamma), { expectedRevision: 'any' });
      const before = await logSize();
      const dry = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', types: ['category'], dryRun: true } });
      expect(dry.statusCode).toBe(409);
      expect(dry.json()).toMatchObject({ rule: 'tenant_restore.log_pruned' });
      const failed = (await finished(await queued({ at: '2026-05-01T10:30:00Z', types: ['category'] }))).json();
      expect(failed).toMatchObject({ status: 'failed', error: { rule: 'tenant_restore.log_pruned' }, result: null });
      expect(failed.error.reason).toContain(categoryStreamId('acme', gamma));
      // Only the record's request and failure: no aggregate was touched.
      expect(await logSize()).toBe(before + 2);
      // Narrowed to aggregates whose history is whole, it runs.
      const narrowed = await call('POST', '/v1/tenant-restores', { body: { at: '2026-05-01T10:30:00Z', ids: [templateId], dryRun: true } });
      expect(narrowed.statusCode).toBe(200);
    });
  });
}

e2e('tenant restores on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] tenant restores on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('tenant restores on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
