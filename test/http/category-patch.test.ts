// PATCH /v1/categories/{id} with a name and a description is one request: it must take effect whole or not
// at all (#5). It used to run a rename and then a describe as two appends, so a failure of the second left
// the rename (and its name claim) behind under a 500.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyStore } from '../../src/adapters/auth/api-key-store.js';
import { createMetrics } from '../../src/adapters/observability/metrics.js';
import { CATEGORY_NAME_SCOPE } from '../../src/commands/categories/index.js';
import { categoryStreamId } from '../../src/domain/categories/index.js';
import { RESERVATION_CLAIMED, reservationStreamId } from '../../src/commands/reservations.js';
import { StreamNotFoundError, type EventStore } from '../../src/ports/event-store.js';
import { buildHttpApp } from '../../src/http/app.js';
import { categoryRoutes } from '../../src/http/categories/index.js';
import { postgresService } from '../support/services.js';
import { openPgliteStore, openPostgresStore, type OpenStore } from '../commands/fixtures/store.js';

function patchSuite(label: string, open: () => Promise<OpenStore>) {
  describe(label, () => {
    let opened: OpenStore;
    let app: FastifyInstance;
    let key: string;
    /** When set, an append to a category stream that carries this event type fails. */
    let failOn: string | undefined;

    beforeAll(async () => {
      opened = await open();
      const failing: EventStore = {
        ...opened.store,
        async append(streamId, events, options) {
          if (failOn && streamId.startsWith('category-') && events.some((event) => event.type === failOn))
            throw new Error('injected failure');
          return opened.store.append(streamId, events, options);
        },
      };
      const apiKeys = createApiKeyStore(opened.db);
      await apiKeys.migrate();
      key = (await apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'w', permissions: ['categories:write'] })).apiKey;
      app = await buildHttpApp({
        logger: pino({ level: 'silent' }),
        apiKeys,
        metrics: createMetrics({ defaultMetrics: false }),
        bodyLimitBytes: 65_536,
        rateLimitPerMinute: 10_000,
        routes: async (instance) => {
          await instance.register(categoryRoutes, {
            commands: { eventStore: failing, clock: () => new Date() },
            db: opened.db,
            readYourWrites: { await: async () => undefined },
          });
        },
      });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await opened?.close();
    });

    const call = (method: 'POST' | 'PATCH', url: string, body: unknown) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: body as object });
    const eventsOf = (streamId: string) =>
      opened.store.readStream(streamId).catch((error: unknown) => {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      });

    it('renames and describes in one append, or changes nothing when the append fails', async () => {
      const created = await call('POST', '/v1/categories', { name: `Forge ${randomUUID().slice(0, 6)}` });
      expect(created.statusCode, created.body).toBe(201);
      const { categoryId } = created.json();
      const newName = `Smithing ${randomUUID().slice(0, 6)}`;

      failOn = 'CategoryDescribed';
      const failed = await call('PATCH', `/v1/categories/${categoryId}`, { name: newName, description: 'hot metal' });
      failOn = undefined;
      expect(failed.statusCode).toBe(500);
      expect((await eventsOf(categoryStreamId('acme', categoryId))).map((event) => event.type)).toEqual(['CategoryCreated']);
      const [claim] = (await eventsOf(reservationStreamId(CATEGORY_NAME_SCOPE, 'acme', newName))).slice(-1);
      expect(claim?.type).not.toBe(RESERVATION_CLAIMED);

      const both = await call('PATCH', `/v1/categories/${categoryId}`, { name: newName, description: 'hot metal' });
      expect(both.statusCode, both.body).toBe(200);
      expect(both.json().revision).toBe(2); // both events in one append
      expect((await eventsOf(categoryStreamId('acme', categoryId))).map((event) => event.type)).toEqual([
        'CategoryCreated',
        'CategoryRenamed',
        'CategoryDescribed',
      ]);
    });
  });
}

patchSuite('category PATCH is all or nothing (PGlite)', openPgliteStore);

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] category PATCH on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) patchSuite('category PATCH is all or nothing (PostgreSQL)', () => openPostgresStore(postgres.url!));
