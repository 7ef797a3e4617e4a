// Batch operations end to end through the real service (embedded PGlite, and PostgreSQL when available):
// POST /v1/batches → plan → process manager → workers running template commands → progress read model
// → queries, SSE; dry run, bad input (nothing written), tenancy, permissions, cancel, retry and undo.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let readerA: string;
    let keyB: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-batches-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        READ_YOUR_WRITES_TIMEOUT_MS: '10000',
        BATCH_MAX_ITEMS: '250',
        ...(await environment()),
      });
      service = await startService(config, pino({ level: 'silent' }), {
        defaultMetrics: false,
      });
      keyA = (
        await service.apiKeys.create({
          tenantId: 'acme',
          userId: 'alice',
          name: 'a',
          permissions: ['templates:write'],
        })
      ).apiKey;
      readerA = (
        await service.apiKeys.create({
          tenantId: 'acme',
          userId: 'rita',
          name: 'r',
          permissions: ['templates:read'],
        })
      ).apiKey;
      keyB = (
        await service.apiKeys.create({
          tenantId: 'globex',
          userId: 'bob',
          name: 'b',
          permissions: ['templates:write'],
        })
      ).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: Method,
      url: string,
      options: {
        key?: string;
        body?: unknown;
        headers?: Record<string, string>;
      } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${options.key ?? keyA}`,
          ...options.headers,
        },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });

    async function batchUntil(batchId: string, statuses: string[], key = keyA) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const got = await call('GET', `/v1/batches/${batchId}`, { key });
        if (got.statusCode === 200 && statuses.includes(got.json().status)) return got.json();
        if (Date.now() > deadline) throw new Error(`batch ${batchId} did not reach ${statuses.join('/')}: ${got.body}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    const createItems = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({
        templateId: randomUUID(),
        name: `${tag} ${i}`,
        templateType: 'base',
      }));
    const batchCount = async () => (await call('GET', '/v1/batches?pageSize=1', { key: readerA })).json().total as number;

    it('runs a 200-item create batch to completed: each item applied once, progress and items paged', async () => {
      const items = createItems(200, `Bulk ${randomUUID()}`);
      const started = await call('POST', '/v1/batches', {
        body: {
          operation: 'create',
          items,
          options: { chunkSize: 40, concurrency: 4, priority: 2 },
        },
      });
      expect(started.statusCode, started.body).toBe(202);
      const { batchId, position } = started.json();
      expect(position).toMatch(/^\d+\.\d+$/);
      expect(started.headers.location).toBe(`/v1/batches/${batchId}`);
      const batch = await batchUntil(batchId, ['completed', 'partially_completed', 'failed']);
      expect(batch).toMatchObject({
        status: 'completed',
        operation: 'create',
        progress: {
          total: 200,
          succeeded: 200,
          failed: 0,
          skipped: 0,
          pending: 0,
          percentage: 100,
        },
      });
      const page = await call('GET', `/v1/batches/${batchId}/items?outcome=succeeded&page=3&pageSize=50`, { key: readerA });
      expect(page.json()).toMatchObject({
        total: 200,
        page: 3,
        pageSize: 50,
        pages: 4,
        hasNext: true,
        hasPrevious: true,
      });
      expect(page.json().items[0]).toMatchObject({
        index: 100,
        templateId: items[100]!.templateId,
        status: 'succeeded',
        revision: 0,
      });
      const template = await call('GET', `/v1/templates/${items[7]!.templateId}`, { key: readerA });
      expect(template.json()).toMatchObject({ name: items[7]!.name });
      for (const [index, item] of items.entries()) {
        const events = await service.eventStore.readStream(`template-${item.templateId}`);
        expect(events.map((e) => e.metadata.commandId)).toEqual([`${batchId}:${index}`]);
      }
      const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^batch_items_total\{outcome="succeeded"\} (\d+)$/m);
      expect(Number(/^batch_items_total\{outcome="succeeded"\} (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(200);
      expect(metrics).toMatch(/^batch_item_duration_seconds_count \d+$/m);
      expect(metrics).toMatch(/^batch_queue_depth \d+$/m);
      expect(metrics).toMatch(/^batch_failure_rate 0$/m);
      expect(metrics).toMatch(/^batch_alert\{alert="failure_rate"\} 0$/m);
      expect(metrics).toMatch(/^batch_alert\{alert="backlog"\} 0$/m);
      const listed = await call('GET', '/v1/batches?status=completed&operation=create', { key: readerA });
      expect(listed.json().items.map((b: { batchId: string }) => b.batchId)).toContain(batchId);

      // The live stream: every event with its revision as id; resuming after an id sends the rest only.
      const sse = await call('GET', `/v1/batches/${batchId}/events`, {
        key: readerA,
      });
      expect(sse.statusCode).toBe(200);
      expect(sse.headers['content-type']).toContain('text/event-stream');
      const ids = [...sse.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      expect(ids[0]).toBe(0);
      expect(sse.body).toContain('event: BatchCompleted');
      const resumed = await call('GET', `/v1/batches/${batchId}/events`, {
        key: readerA,
        headers: { 'last-event-id': String(ids.at(-2)) },
      });
      expect([...resumed.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([ids.at(-1)]);
    });

    it('dry-runs (200, report and impact, nothing written) and refuses abort with the conflict list', async () => {
      const name = `Taken ${randomUUID()}`;
      const existing = await call('POST', '/v1/templates', {
        body: { name, templateType: 'base' },
      });
      expect(existing.statusCode).toBe(201);
      await call('GET', `/v1/templates/${existing.json().templateId}?minPosition=${existing.json().position}`, { key: readerA });
      const before = await batchCount();
      const body = {
        operation: 'create',
        items: [{ templateId: randomUUID(), name, templateType: 'base' }, ...createItems(1, `Free ${randomUUID()}`)],
      };
      const dry = await call('POST', '/v1/batches', {
        body: {
          ...body,
          options: { dryRun: true, conflictResolution: 'skip' },
        },
      });
      expect(dry.statusCode, dry.body).toBe(200);
      expect(dry.json()).toMatchObject({
        dryRun: true,
        conflicts: [
          expect.objectContaining({
            index: 0,
            type: 'business_rule',
            resolution: 'skipped',
          }),
        ],
        impact: { templatesChanged: [body.items[1]!.templateId] },
      });
      const aborted = await call('POST', '/v1/batches', { body });
      expect(aborted.statusCode).toBe(409);
      expect(aborted.headers['content-type']).toContain('application/problem+json');
      expect(aborted.json()).toMatchObject({
        rule: 'batch.conflicts.abort',
        conflicts: [expect.objectContaining({ index: 0, rule: 'batch.name.collision' })],
      });
      expect(await batchCount()).toBe(before);
    });

    it('refuses bad input with a 4xx problem naming the field, writing nothing', async () => {
      const before = await batchCount();
      const refusals: [unknown, number, string, string | undefined][] = [
        [{ operation: 'create', items: [] }, 400, 'batch.items.empty', 'body.items'],
        [
          {
            operation: 'archive',
            items: Array.from({ length: 251 }, () => ({
              templateId: randomUUID(),
            })),
          },
          400,
          'batch.items.too_many',
          'body.items',
        ],
        [
          {
            operation: 'update',
            items: [
              { templateId: randomUUID(), changes: { defaultDuration: 5 } },
              { templateId: randomUUID(), changes: { nope: 1 } },
            ],
          },
          400,
          'batch.item.shape',
          'body.items.1.changes.nope',
        ],
        [
          {
            operation: 'create',
            items: [{ templateId: randomUUID(), templateType: 'base' }],
          },
          400,
          'batch.item.shape',
          'body.items.0.name',
        ],
        [{ operation: 'explode', items: [{ templateId: randomUUID() }] }, 400, 'validation', 'body.operation'],
        [
          {
            operation: 'archive',
            items: [{ templateId: randomUUID() }],
            options: { scheduledAt: '2020-01-01T00:00:00Z' },
          },
          400,
          'batch.scheduled_at.past',
          'body.options.scheduledAt',
        ],
        [
          {
            operation: 'archive',
            items: [{ templateId: randomUUID() }],
            options: { scheduledAt: '9999-12-31T23:59:59Z' },
          },
          400,
          'batch.scheduled_at.too_far',
          'body.options.scheduledAt',
        ],
        [
          {
            operation: 'archive',
            items: [{ templateId: randomUUID() }],
            options: { chunkSize: 0 },
          },
          400,
          'batch.options.invalid',
          'body.options.chunkSize',
        ],
      ];
      for (const [body, status, rule, field] of refusals) {
        const response = await call('POST', '/v1/batches', { body });
        expect(response.statusCode, response.body).toBe(status);
        expect(response.json().type).toContain(rule);
        if (field) expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      expect(
        (
          await call('POST', '/v1/batches', {
            key: readerA,
            body: {
              operation: 'archive',
              items: [{ templateId: randomUUID() }],
            },
          })
        ).statusCode,
      ).toBe(403);
      expect(await batchCount()).toBe(before);
    });

    it('refuses what an attacker sends (NUL, lone surrogate, 10,000-deep JSON, numbers past their range) and scopes Idempotency-Key per tenant', async () => {
      const before = await batchCount();
      const item = (name: string) => ({ templateId: randomUUID(), name, templateType: 'base' });
      for (const name of ['bad\u0000name', 'bad\ud800name']) {
        const response = await call('POST', '/v1/batches', { body: { operation: 'create', items: [item(name)] } });
        expect(response.statusCode, response.body).toBe(400);
        expect(response.json().errors[0].field).toContain('items');
      }
      const deep = `{"operation":"create","items":[{"templateId":"${randomUUID()}","name":"deep","templateType":"base","dynamicProperties":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`;
      const deepResponse = await service.http.inject({
        method: 'POST',
        url: '/v1/batches',
        headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' },
        payload: deep,
      });
      expect(deepResponse.statusCode, deepResponse.body).toBe(400);
      for (const options of [{ chunkSize: 1e20 }, { concurrency: 2 ** 31 }, { priority: -(2 ** 40) }]) {
        const response = await call('POST', '/v1/batches', { body: { operation: 'create', items: [item('range')], options } });
        expect(response.statusCode, response.body).toBe(400);
      }
      expect(await batchCount()).toBe(before);

      const key = `batch-key-${randomUUID()}`;
      const body = { operation: 'create', items: [item(`idem ${key}`)] };
      const first = await call('POST', '/v1/batches', { body, headers: { 'idempotency-key': key } });
      // Tenant B, same key (and a body of its own): a command of its own, never a replay of A's.
      const other = await call('POST', '/v1/batches', {
        key: keyB,
        body: { operation: 'create', items: [item(`idem b ${key}`)] },
        headers: { 'idempotency-key': key },
      });
      expect([first.statusCode, other.statusCode]).toEqual([202, 202]);
      expect(other.headers['idempotent-replay']).toBeUndefined();
      expect(other.json().batchId).not.toBe(first.json().batchId);
      const replay = await call('POST', '/v1/batches', { body, headers: { 'idempotency-key': key } });
      expect(replay.json().batchId, replay.body).toBe(first.json().batchId);
      const reused = await call('POST', '/v1/batches', {
        body: { operation: 'create', items: [item('another request')] },
        headers: { 'idempotency-key': key },
      });
      expect(reused.statusCode).toBe(422);
      expect(reused.json().type).toContain('idempotency.key_reused');
    });

    it('lists the batch alert thresholds in /ready without failing it', async () => {
      const ready = await service.http.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(200);
      const alerts = ready.json().alerts as { name: string; threshold: number; firing: boolean }[];
      expect(alerts.map((alert) => [alert.name, alert.threshold])).toEqual([
        ['batch.failure_rate', 0.1],
        ['batch.backlog', 100],
      ]);
      expect(ready.json().degraded).toBe(alerts.some((alert) => alert.firing));
    });

    it("hides another tenant's batch; cancels; refuses cancel of a finished batch, retry without failures and undo of an undo", async () => {
      const templates = createItems(3, `Undo ${randomUUID()}`);
      const created = await call('POST', '/v1/batches', {
        body: { operation: 'create', items: templates },
      });
      const { batchId } = created.json();
      await batchUntil(batchId, ['completed']);
      for (const url of [`/v1/batches/${batchId}`, `/v1/batches/${batchId}/items`, `/v1/batches/${batchId}/events`]) {
        expect((await call('GET', url, { key: keyB })).statusCode).toBe(404);
      }
      const foreignCancel = await call('POST', `/v1/batches/${batchId}/cancel`, { key: keyB });
      expect(foreignCancel.statusCode, foreignCancel.body).toBe(404);
      // The refusal names the batch's state, not a body field the cancel never had.
      expect((await call('POST', `/v1/batches/${batchId}/cancel`)).json()).toMatchObject({
        status: 409,
        rule: 'batch.cancel.finished',
        errors: [{ field: 'resource.status', rule: 'batch.cancel.finished' }],
      });
      expect((await call('POST', `/v1/batches/${batchId}/retry`)).json()).toMatchObject({
        status: 409,
        rule: 'batch.retry.no_failed_items',
      });

      const update = await call('POST', '/v1/batches', {
        body: {
          operation: 'update',
          items: templates.map((t) => ({ templateId: t.templateId })),
          sharedChanges: { defaultDuration: 75 },
        },
      });
      expect(update.statusCode, update.body).toBe(202);
      const updateId = update.json().batchId;
      await batchUntil(updateId, ['completed']);
      const preview = await call('POST', `/v1/batches/${updateId}/undo`, {
        body: { dryRun: true },
      });
      expect(preview.statusCode, preview.body).toBe(200);
      expect(preview.json()).toMatchObject({
        dryRun: true,
        refused: false,
        changedSinceBatch: [],
      });
      expect(preview.json().items).toHaveLength(3);
      const undo = await call('POST', `/v1/batches/${updateId}/undo`);
      expect(undo.statusCode, undo.body).toBe(202);
      const undoId = undo.json().batchId;
      expect(await batchUntil(undoId, ['completed'])).toMatchObject({
        operation: 'restore',
        undoOf: updateId,
        progress: { succeeded: 3 },
      });
      // The batch's read model says completed; the template's may trail it a moment: poll (bounded).
      const durationNow = async () => {
        const restored = await call('GET', `/v1/templates/${templates[0]!.templateId}`, { key: readerA });
        return restored.json().defaultDuration ?? restored.json().content?.defaultDuration ?? null;
      };
      for (let i = 0; i < 50 && (await durationNow()) !== null; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await durationNow()).toBeNull();
      expect((await call('POST', `/v1/batches/${undoId}/undo`)).json()).toMatchObject({ status: 409, rule: 'batch.undo.of_undo' });

      const many = await call('POST', '/v1/batches', {
        body: {
          operation: 'create',
          items: createItems(200, `Cancel ${randomUUID()}`),
          options: { chunkSize: 1, concurrency: 1 },
        },
      });
      const cancel = await call('POST', `/v1/batches/${many.json().batchId}/cancel`, { body: { reason: 'wrong file' } });
      expect(cancel.statusCode, cancel.body).toBe(200);
      const cancelled = await batchUntil(many.json().batchId, ['cancelled']);
      expect(cancelled.progress.cancelled).toBeGreaterThan(0);
      expect(cancelled.progress.succeeded + cancelled.progress.cancelled + cancelled.progress.failed).toBe(200);
    });

    it('refuses an undo with the list of templates changed since the batch, and restores them with override', async () => {
      const templates = createItems(2, `Changed ${randomUUID()}`);
      const created = await call('POST', '/v1/batches', { body: { operation: 'create', items: templates } });
      await batchUntil(created.json().batchId, ['completed']);
      const update = await call('POST', '/v1/batches', {
        body: { operation: 'update', items: templates.map((t) => ({ templateId: t.templateId })), sharedChanges: { defaultDuration: 30 } },
      });
      const updateId = update.json().batchId;
      await batchUntil(updateId, ['completed']);
      const changed = templates[1]!.templateId;
      expect((await call('PATCH', `/v1/templates/${changed}`, { body: { description: 'edited after the batch' } })).statusCode).toBe(200);

      const refused = await call('POST', `/v1/batches/${updateId}/undo`);
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json()).toMatchObject({
        rule: 'batch.undo.changed_since',
        changedSinceBatch: [{ templateId: changed, revisionAfterBatch: 1, currentRevision: 2 }],
      });
      const undone = await call('POST', `/v1/batches/${updateId}/undo`, { body: { override: true } });
      expect(undone.statusCode, undone.body).toBe(202);
      expect(await batchUntil(undone.json().batchId, ['completed', 'partially_completed', 'failed'])).toMatchObject({
        status: 'completed',
        progress: { succeeded: 2 },
      });
      const events = await service.eventStore.readStream(`template-${changed}`);
      expect(events.at(-1)).toMatchObject({ type: 'TemplateVersionRestored', data: expect.objectContaining({ restoredFrom: 1 }) });
    });
  });
}

e2e('batches end to end on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] batches end to end on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) {
  e2e('batches end to end on PostgreSQL', async () => ({
    DATABASE_URL: await createTestDatabase(postgres.url!),
  }));
}
