// Idempotency-Key end to end (#3): a key belongs to (tenant, principal, route). The same key from another
// tenant or principal is another command, never a replay of someone else's; the same key with another
// request on the same route is 422 `idempotency.key_reused` (IETF Idempotency-Key draft) and writes nothing.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { comparePositions, parsePosition, type Position } from '../../src/ports/event-store.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function idempotencySuite(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let keyA2: string;
    let keyB: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-idempotency-'));
      service = await startService(
        loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) }),
        pino({ level: 'silent' }),
        {
          defaultMetrics: false,
        },
      );
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
      keyA2 = (await service.apiKeys.create({ tenantId: 'acme', userId: 'adam', name: 'a2', permissions: ['templates:write'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: Method, url: string, key: string, options: { body?: unknown; idempotencyKey?: string } = {}) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}) },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });
    const freshKey = () => `key-${randomUUID()}`;
    const unique = (name: string) => `${name} ${randomUUID().slice(0, 6)}`;

    async function publicTemplate() {
      const created = await call('POST', '/v1/templates', keyA, { body: { name: unique('Shared'), templateType: 'base', isPublic: true } });
      expect(created.statusCode, created.body).toBe(201);
      const { templateId } = created.json();
      const activated = await call('POST', `/v1/templates/${templateId}/activate`, keyA);
      expect(activated.statusCode, activated.body).toBe(200);
      return templateId as string;
    }

    it('never replays another tenant’s command for the same key: usages and commands on a public template', async () => {
      const templateId = await publicTemplate();
      const key = freshKey();
      const usage = { usageType: 'create_course', outcome: 'success' };
      const byB = await call('POST', `/v1/templates/${templateId}/usages`, keyB, { body: usage, idempotencyKey: key });
      expect(byB.statusCode, byB.body).toBe(200);
      const byA = await call('POST', `/v1/templates/${templateId}/usages`, keyA, { body: usage, idempotencyKey: key });
      expect(byA.statusCode, byA.body).toBe(200);
      expect(byA.headers['idempotent-replay']).toBeUndefined();
      expect(byA.json().position).not.toBe(byB.json().position);

      // B's favorite with a key, then A's archive with that same key: A's archive happens.
      const favoriteKey = freshKey();
      expect((await call('PUT', `/v1/templates/${templateId}/favorite`, keyB, { idempotencyKey: favoriteKey })).statusCode).toBe(200);
      const archived = await call('POST', `/v1/templates/${templateId}/archive`, keyA, { idempotencyKey: favoriteKey });
      expect(archived.statusCode, archived.body).toBe(200);
      expect(archived.headers['idempotent-replay']).toBeUndefined();
      const view = (await call('GET', `/v1/templates/${templateId}?minPosition=${archived.json().position}`, keyA)).json();
      expect(view).toMatchObject({ status: 'archived', usageCount: 2, favoritesCount: 1 });
    });

    it('keeps keys apart per principal inside one tenant', async () => {
      const created = await call('POST', '/v1/templates', keyA, { body: { name: unique('Two authors'), templateType: 'base' } });
      const { templateId } = created.json();
      const key = freshKey();
      const first = await call('PATCH', `/v1/templates/${templateId}`, keyA, { body: { description: 'by alice' }, idempotencyKey: key });
      const second = await call('PATCH', `/v1/templates/${templateId}`, keyA2, { body: { description: 'by adam' }, idempotencyKey: key });
      expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
      expect(second.headers['idempotent-replay']).toBeUndefined();
      const view = (await call('GET', `/v1/templates/${templateId}?minPosition=${second.json().position}`, keyA)).json();
      expect(view.content.description).toBe('by adam');
    });

    it('answers 422 idempotency.key_reused for the same key with another body or target, writing nothing; the same request replays', async () => {
      const key = freshKey();
      const body = { name: unique('Keyed'), templateType: 'base' };
      const first = await call('POST', '/v1/templates', keyA, { body, idempotencyKey: key });
      expect(first.statusCode, first.body).toBe(201);
      // The head once it shows the first request (PostgreSQL's visible head may trail a fresh commit).
      const firstPosition = parsePosition(first.json().position) as Position;
      let head = await service.eventStore.headPosition();
      while (comparePositions(head, firstPosition) < 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        head = await service.eventStore.headPosition();
      }

      const otherBody = await call('POST', '/v1/templates', keyA, { body: { ...body, name: unique('Other') }, idempotencyKey: key });
      expect(otherBody.statusCode, otherBody.body).toBe(422);
      expect(otherBody.headers['content-type']).toContain('application/problem+json');
      expect(otherBody.json()).toMatchObject({
        status: 422,
        type: expect.stringContaining('idempotency.key_reused'),
        errors: [{ field: 'headers.idempotency-key' }],
      });
      expect(await service.eventStore.headPosition()).toEqual(head);

      const again = await call('POST', '/v1/templates', keyA, { body, idempotencyKey: key });
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replay']).toBe('true');
      expect(again.json()).toEqual(first.json());

      // The same route with another target is another request too.
      const templateId = first.json().templateId as string;
      const other = (await call('POST', '/v1/templates', keyA, { body: { name: unique('Second'), templateType: 'base' } })).json()
        .templateId as string;
      const patchKey = freshKey();
      expect(
        (await call('PATCH', `/v1/templates/${templateId}`, keyA, { body: { description: 'x' }, idempotencyKey: patchKey })).statusCode,
      ).toBe(200);
      const retarget = await call('PATCH', `/v1/templates/${other}`, keyA, { body: { description: 'x' }, idempotencyKey: patchKey });
      expect(retarget.statusCode, retarget.body).toBe(422);
      const usageKey = freshKey();
      await call('POST', `/v1/templates/${templateId}/activate`, keyA);
      expect(
        (
          await call('POST', `/v1/templates/${templateId}/usages`, keyA, {
            body: { usageType: 'create_course', outcome: 'success' },
            idempotencyKey: usageKey,
          })
        ).statusCode,
      ).toBe(200);
      const reusedUsage = await call('POST', `/v1/templates/${templateId}/usages`, keyA, {
        body: { usageType: 'create_course', outcome: 'error' },
        idempotencyKey: usageKey,
      });
      expect(reusedUsage.statusCode, reusedUsage.body).toBe(422);
      expect(reusedUsage.json().type).toContain('idempotency.key_reused');
    });
  });
}

idempotencySuite('Idempotency-Key scope on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] Idempotency-Key scope on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url)
  idempotencySuite('Idempotency-Key scope on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
