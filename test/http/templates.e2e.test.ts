// Course templates end to end through the real service (embedded PGlite, and PostgreSQL when available):
// commands → events → template projection → queries with read-your-writes; inheritance through the read
// model; bad input; concurrency; and tenant isolation on every endpoint.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService, redisService } from '../support/services.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let keyA: string;
    let keyA2: string;
    let keyB: string;
    let readerA: string;
    let platformKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-templates-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        READ_YOUR_WRITES_TIMEOUT_MS: '5000',
        TEMPLATE_POPULAR_THRESHOLD: '2',
        ...(await environment()),
      });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
      keyA2 = (await service.apiKeys.create({ tenantId: 'acme', userId: 'adam', name: 'a2', permissions: ['templates:write'] })).apiKey;
      readerA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'rita', name: 'r', permissions: ['templates:read'] })).apiKey;
      keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const callAs = (method: Method, url: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? keyA}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });
    const call = callAs;

    /** Creates (and by default activates) a template; returns its id and the last command's position. */
    async function create(body: Record<string, unknown>, options: { key?: string; activate?: boolean } = {}) {
      const created = await call('POST', '/v1/templates', { key: options.key, body: { templateType: 'base', ...body } });
      expect(created.statusCode, created.body).toBe(201);
      const { templateId } = created.json();
      let position = created.json().position as string;
      if (options.activate !== false) {
        const activated = await call('POST', `/v1/templates/${templateId}/activate`, { key: options.key });
        expect(activated.statusCode, activated.body).toBe(200);
        position = activated.json().position;
      }
      return { templateId: templateId as string, position };
    }

    const unique = (name: string) => `${name} ${randomUUID().slice(0, 6)}`;

    it('creates a draft, activates it and reads it back with read-your-writes', async () => {
      const created = await call('POST', '/v1/templates', {
        body: {
          name: 'Italian for beginners',
          description: 'Ten evenings of conversation',
          templateType: 'base',
          defaultDuration: 90,
          defaultMinParticipants: 4,
          defaultMaxParticipants: 12,
          defaultPrice: { amountMinor: 14900, currency: 'EUR' },
          defaultSkillLevel: 'beginner',
          tags: [{ name: 'language', value: 'italian', type: 'topic' }],
        },
      });
      expect(created.statusCode).toBe(201);
      const { templateId, revision, version, position } = created.json();
      expect([revision, version]).toEqual([0, 1]);
      expect(created.headers.location).toBe(`/v1/templates/${templateId}`);
      const one = await call('GET', `/v1/templates/${templateId}?minPosition=${position}`);
      expect(one.statusCode).toBe(200);
      expect(one.headers.etag).toBe('"0"');
      expect(one.json()).toMatchObject({
        templateId,
        ownerTenantId: 'acme',
        status: 'draft',
        version: 1,
        createdBy: 'alice',
        effective: { defaultPrice: { amountMinor: 14900, currency: 'EUR' } },
      });
      const activated = await call('POST', `/v1/templates/${templateId}/activate`, { headers: { 'if-match': '"0"' } });
      expect(activated.statusCode).toBe(200);
      const after = await call('GET', `/v1/templates/${templateId}?minPosition=${activated.json().position}`);
      expect(after.json()).toMatchObject({ status: 'active', revision: 1 });
    });

    it('folds inheritance into the effective template and follows a parent change to every descendant', async () => {
      const root = await create({
        name: unique('Root'),
        dynamicProperties: { level: 'root', nested: { a: 1 }, list: [1] },
        defaultDuration: 60,
        defaultSkillLevel: 'intermediate',
      });
      const child = await create({
        name: unique('Child'),
        parentTemplateId: root.templateId,
        mergeStrategy: 'merge',
        dynamicProperties: { nested: { b: 2 }, list: [2] },
      });
      const grandchild = await create({
        name: unique('Grandchild'),
        parentTemplateId: child.templateId,
        mergeStrategy: 'extend',
        dynamicProperties: { level: 'ignored', extra: true },
        defaultDuration: 45,
      });
      const read = async (id: string, position: string) => (await call('GET', `/v1/templates/${id}?minPosition=${position}`)).json();
      const g = await read(grandchild.templateId, grandchild.position);
      expect(g.effective).toMatchObject({
        dynamicProperties: { level: 'root', nested: { a: 1, b: 2 }, list: [1, 2], extra: true },
        defaultDuration: 45,
        defaultSkillLevel: 'intermediate',
      });
      expect(g.content.dynamicProperties).toEqual({ level: 'ignored', extra: true });

      // Change the root: the grandchild's effective template changes with it (and the search filter column).
      const patched = await call('PATCH', `/v1/templates/${root.templateId}`, {
        body: { dynamicProperties: { level: 'root v2', nested: { a: 10 } }, defaultSkillLevel: 'advanced' },
      });
      expect(patched.statusCode, patched.body).toBe(200);
      const g2 = await read(grandchild.templateId, patched.json().position);
      expect(g2.effective.dynamicProperties).toEqual({ level: 'root v2', nested: { a: 10, b: 2 }, list: [2], extra: true });
      const found = await call(
        'GET',
        `/v1/templates?skillLevels=advanced&q=${encodeURIComponent(g2.name.split(' ')[1])}&minPosition=${patched.json().position}`,
      );
      expect(found.json().items.map((t: { templateId: string }) => t.templateId)).toEqual([grandchild.templateId]);

      // A cycle is refused and changes nothing.
      const cycle = await call('PUT', `/v1/templates/${root.templateId}/parent`, { body: { parentTemplateId: grandchild.templateId } });
      expect(cycle.statusCode).toBe(409);
      expect(cycle.json()).toMatchObject({ rule: 'template.parent.cycle', errors: [{ field: 'body.parentTemplateId' }] });
      expect((await read(root.templateId, patched.json().position)).parentTemplateId).toBeNull();
      const self = await call('PUT', `/v1/templates/${root.templateId}/parent`, { body: { parentTemplateId: root.templateId } });
      expect(self.json().rule).toBe('template.parent.self');
    });

    it('allows 10 levels of inheritance and refuses the 11th', async () => {
      let parent: string | null = null;
      for (let level = 1; level <= 10; level++) {
        const body: Record<string, unknown> = { name: unique(`Level ${level}`), ...(parent ? { parentTemplateId: parent } : {}) };
        parent = (await create(body, { activate: false })).templateId;
      }
      const eleventh = await call('POST', '/v1/templates', {
        body: { name: unique('Level 11'), templateType: 'custom', parentTemplateId: parent },
      });
      expect(eleventh.statusCode).toBe(409);
      expect(eleventh.json().rule).toBe('template.parent.depth');
    });

    it('keeps names unique per tenant among templates that are not archived', async () => {
      const name = unique('Pottery');
      const first = await create({ name });
      const duplicate = await call('POST', '/v1/templates', { body: { name: `  ${name.toUpperCase()} `, templateType: 'base' } });
      expect(duplicate.statusCode).toBe(409);
      expect(duplicate.json()).toMatchObject({ rule: 'template.name.unique', errors: [{ field: 'body.name' }] });
      // Another tenant has its own names.
      expect((await call('POST', '/v1/templates', { key: keyB, body: { name, templateType: 'base' } })).statusCode).toBe(201);
      // Archiving frees the name.
      expect((await call('POST', `/v1/templates/${first.templateId}/archive`)).statusCode).toBe(200);
      expect((await call('POST', '/v1/templates', { body: { name, templateType: 'base' } })).statusCode).toBe(201);
      // ...and unarchiving needs it back.
      const back = await call('POST', `/v1/templates/${first.templateId}/unarchive`);
      expect(back.statusCode).toBe(409);
      expect(back.json().rule).toBe('template.name.unique');
    });

    it('answers a repeated create (same Idempotency-Key) with the first result, and refuses an existing id', async () => {
      const headers = { 'idempotency-key': `create-${randomUUID()}` };
      const body = { name: unique('Idempotent'), templateType: 'base' };
      const first = await call('POST', '/v1/templates', { body, headers });
      const again = await call('POST', '/v1/templates', { body, headers });
      expect([first.statusCode, again.statusCode]).toEqual([201, 201]);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replay']).toBe('true');
      const history = (await call('GET', `/v1/templates/${first.json().templateId}/history?minPosition=${first.json().position}`)).json()
        .items;
      expect(history).toHaveLength(1);
      // The same id again under another name: template.exists, and the new name is not left claimed.
      const otherName = unique('Clash');
      const clash = await call('POST', '/v1/templates', {
        body: { templateId: first.json().templateId, name: otherName, templateType: 'base' },
      });
      expect(clash.statusCode).toBe(409);
      expect(clash.json().rule).toBe('template.exists');
      expect((await call('POST', '/v1/templates', { body: { name: otherName, templateType: 'base' } })).statusCode).toBe(201);
    });

    it('refuses bad input with the field and rule, writing nothing', async () => {
      const head = await service.eventStore.headPosition();
      // Every request of this test is tagged: an event it wrote would carry the tag as its correlation id (other
      // tests' background work, e.g. a process manager behind on a loaded machine, may append meanwhile).
      const tag = `bad-input-${Date.now()}`;
      const call = (method: Method, url: string, options: { body?: unknown } = {}) =>
        callAs(method, url, { ...options, headers: { 'x-correlation-id': tag } });
      const cases: [unknown, string, string][] = [
        [{ name: 'x', templateType: 'base', colour: 'red' }, 'body.colour', 'unrecognized_keys'],
        [{ name: '', templateType: 'base' }, 'body.name', 'too_small'],
        [{ name: 'x'.repeat(256), templateType: 'base' }, 'body.name', 'too_big'],
        [{ name: 'x', templateType: 'gold' }, 'body.templateType', 'invalid_value'],
        [{ name: 'x', templateType: 'base', defaultDuration: 0 }, 'body.defaultDuration', 'too_small'],
        [{ name: 'x', templateType: 'base', defaultDuration: '90' }, 'body.defaultDuration', 'invalid_type'],
        [
          { name: 'x', templateType: 'base', defaultPrice: { amountMinor: -1, currency: 'EUR' } },
          'body.defaultPrice.amountMinor',
          'too_small',
        ],
        [{ name: 'x', templateType: 'base', defaultSkillLevel: 'guru' }, 'body.defaultSkillLevel', 'invalid_value'],
        [{ name: 'x', templateType: 'base', tags: Array.from({ length: 10_000 }, (_, i) => ({ name: `t${i}` })) }, 'body.tags', 'too_big'],
      ];
      for (const [body, field, rule] of cases) {
        const response = await call('POST', '/v1/templates', { body });
        expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, rule })]));
      }
      // Domain rules the schema cannot see: min ≤ max, JSON size.
      const order = await call('POST', '/v1/templates', {
        body: { name: unique('Order'), templateType: 'base', defaultMinParticipants: 9, defaultMaxParticipants: 3 },
      });
      expect(order.statusCode).toBe(400);
      expect(order.json().rule).toBe('template.participants.order');
      const big = await call('POST', '/v1/templates', {
        body: { name: unique('Big'), templateType: 'base', dynamicProperties: { blob: 'x'.repeat(70_000) } },
      });
      expect(big.statusCode).toBe(400);
      expect(big.json()).toMatchObject({ rule: 'template.properties.size', errors: [{ field: 'body.dynamicProperties' }] });
      const sort = await call('GET', '/v1/templates?sort=name;DROP TABLE x');
      expect(sort.statusCode).toBe(400);
      expect(sort.json().errors[0]).toMatchObject({ field: 'query.sort' });
      const range = await call('GET', '/v1/templates?priceMin=500&priceMax=100');
      expect(range.statusCode).toBe(400);
      // Not one event (nor a name reservation) was written by any of them.
      const since = await service.eventStore.readAll({ ...(head ? { after: head } : {}), maxCount: 10_000 });
      expect(since.events.filter((event) => event.metadata.correlationId === tag).map((event) => event.type)).toEqual([]);
    });

    it('lets one of two concurrent updates win; the other gets 409 with the current revision', async () => {
      const { templateId } = await create({ name: unique('Race') });
      const [a, b] = await Promise.all([
        call('PATCH', `/v1/templates/${templateId}`, { body: { description: 'from alice' }, headers: { 'if-match': '"1"' } }),
        call('PATCH', `/v1/templates/${templateId}`, { key: keyA2, body: { defaultDuration: 30 }, headers: { 'if-match': '"1"' } }),
      ]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
      const loser = a.statusCode === 409 ? a : b;
      expect(loser.json()).toMatchObject({ currentRevision: 2 });
      expect(loser.headers.etag).toBe('"2"');
      // Without If-Match both land (decided again on fresh state): no update is lost.
      const [c, d] = await Promise.all([
        call('PATCH', `/v1/templates/${templateId}`, { body: { description: 'second' } }),
        call('PATCH', `/v1/templates/${templateId}`, { key: keyA2, body: { defaultMaxParticipants: 20 } }),
      ]);
      expect([c.statusCode, d.statusCode]).toEqual([200, 200]);
      const position = [c.json().position, d.json().position].sort().at(-1);
      const after = (await call('GET', `/v1/templates/${templateId}?minPosition=${position}`)).json();
      expect(after.content).toMatchObject({ description: 'second', defaultMaxParticipants: 20 });
    });

    it('keeps every version, restores one as a new version and tells who changed what', async () => {
      const { templateId } = await create({ name: unique('Versions'), defaultDuration: 60 });
      await call('PATCH', `/v1/templates/${templateId}`, { body: { defaultDuration: 75 } });
      const restored = await call('POST', `/v1/templates/${templateId}/versions/1/restore`);
      expect(restored.statusCode, restored.body).toBe(200);
      expect(restored.json().version).toBe(3);
      const position = restored.json().position;
      const versions = (await call('GET', `/v1/templates/${templateId}/versions?minPosition=${position}`)).json().items;
      expect(
        versions.map((v: { version: number; content: { defaultDuration: number } }) => [v.version, v.content.defaultDuration]),
      ).toEqual([
        [1, 60],
        [2, 75],
        [3, 60],
      ]);
      const history = (await call('GET', `/v1/templates/${templateId}/history`)).json().items;
      expect(history.map((h: { eventType: string }) => h.eventType)).toEqual([
        'TemplateCreated',
        'TemplateActivated',
        'TemplateUpdated',
        'TemplateVersionRestored',
      ]);
      expect(history[2]).toMatchObject({ userId: 'alice', tenantId: 'acme', changes: { changes: { defaultDuration: 75 } } });
      const unknown = await call('POST', `/v1/templates/${templateId}/versions/9/restore`);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().rule).toBe('template.version.unknown');
    });

    it('answers asOf from the event stream', async () => {
      const { templateId } = await create({ name: unique('AsOf'), defaultDuration: 60 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const between = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await call('PATCH', `/v1/templates/${templateId}`, { body: { defaultDuration: 90 } });
      const then = await call('GET', `/v1/templates/${templateId}?asOf=${encodeURIComponent(between)}`);
      expect(then.statusCode).toBe(200);
      expect(then.json()).toMatchObject({ version: 1, content: { defaultDuration: 60 }, effective: { defaultDuration: 60 } });
      const before = await call('GET', `/v1/templates/${templateId}?asOf=2001-01-01T00:00:00Z`);
      expect(before.statusCode).toBe(404);
    });

    it('searches with filters, keyword, tags, sort and pagination; favorites and usage feed the read model', async () => {
      const marker = randomUUID().slice(0, 6);
      const ids: string[] = [];
      for (const [i, level] of (['beginner', 'beginner', 'advanced', 'beginner'] as const).entries()) {
        const made = await create({
          name: `Watercolour ${marker} ${i}`,
          defaultSkillLevel: level,
          defaultPrice: { amountMinor: 1000 * (i + 1), currency: 'EUR' },
          defaultDuration: 30 * (i + 1),
          tags: [{ name: 'art', value: `painting ${marker}`, type: 'topic' }],
        });
        ids.push(made.templateId);
      }
      const used = await call('POST', `/v1/templates/${ids[1]}/usages`, { body: { usageType: 'create_course', outcome: 'success' } });
      expect(used.statusCode, used.body).toBe(200);
      await call('POST', `/v1/templates/${ids[1]}/usages`, {
        body: { usageType: 'bulk_create', outcome: 'error', errorMessage: 'room full' },
      });
      // If-Match holds for favorites and usages too: a stale revision changes nothing.
      const stale = await call('PUT', `/v1/templates/${ids[3]}/favorite`, { key: readerA, headers: { 'if-match': '"0"' } });
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({ currentRevision: 1 });
      const fav = await call('PUT', `/v1/templates/${ids[3]}/favorite`, { key: readerA, headers: { 'if-match': '"1"' } });
      expect(fav.statusCode, fav.body).toBe(200);
      const position = fav.json().position;

      const search = async (query: string, key = keyA) =>
        (await call('GET', `/v1/templates?minPosition=${position}&${query}`, { key })).json();
      const page1 = await search(`q=${marker}&skillLevels=beginner&priceMax=4000&durationMin=30&sort=created&order=asc&pageSize=2`);
      expect(page1).toMatchObject({ total: 3, page: 1, pages: 2, hasNext: true, hasPrevious: false });
      expect(page1.items.map((t: { templateId: string }) => t.templateId)).toEqual([ids[0], ids[1]]);
      const page2 = await search(`q=${marker}&skillLevels=beginner&priceMax=4000&sort=created&order=asc&pageSize=2&page=2`);
      expect(page2).toMatchObject({ hasNext: false, hasPrevious: true });
      expect(page2.items.map((t: { templateId: string }) => t.templateId)).toEqual([ids[3]]);
      // Keyword over tags too, with prefix match; tag filter exact.
      expect((await search(`q=paint ${marker}&tags=topic:art`)).total).toBe(4);
      expect((await search(`q=${marker}&tags=topic:sculpture`)).total).toBe(0);
      expect((await search(`q=${marker}&sort=usage`)).items[0].templateId).toBe(ids[1]);
      expect((await search(`q=${marker}&sort=last_used&order=asc`)).items[0].templateId).toBe(ids[1]); // nulls last either way
      expect((await search(`q=${marker}&popularOnly=true`)).items.map((t: { templateId: string }) => t.templateId)).toEqual([ids[1]]);
      expect((await search(`q=${marker}&favoritesOnly=true`, readerA)).items.map((t: { templateId: string }) => t.templateId)).toEqual([
        ids[3],
      ]);
      expect((await search(`q=${marker}&favoritesOnly=true`)).total).toBe(0); // alice has none
      expect((await search(`q=${marker}&sort=popularity`)).items[0].templateId).toBe(ids[3]);

      const usage = (await call('GET', `/v1/templates/${ids[1]}/usage`)).json();
      expect(usage).toMatchObject({ usageCount: 2, successCount: 1 });
      expect(usage.byDay.map((d: { usageType: string }) => d.usageType).sort()).toEqual(['bulk_create', 'create_course']);
      const stats = (await call('GET', '/v1/templates/stats')).json();
      expect(stats.usages).toBeGreaterThanOrEqual(2);
      expect(stats.mostUsed.map((m: { templateId: string }) => m.templateId)).toContain(ids[1]);
      expect(stats.activeCount).toBeGreaterThanOrEqual(4);
    });

    it('never lets another tenant see, change, favorite or count a private template; public ones are shared read-only', async () => {
      const secret = await create({ name: unique('Secret recipe'), tags: [{ name: 'hidden', value: 'zzqx', type: 'custom' }] });
      const shared = await create({ name: unique('Shared basics'), isPublic: true, dynamicProperties: { shared: true } });
      const missing = randomUUID();
      const probes: [Method, string, unknown?][] = [
        ['GET', ''],
        ['GET', '/versions'],
        ['GET', '/history'],
        ['GET', '/usage'],
        ['PATCH', '', { description: 'mine now' }],
        ['PUT', '/parent', { parentTemplateId: null }],
        ['POST', '/activate'],
        ['POST', '/archive'],
        ['POST', '/deprecate'],
        ['POST', '/unarchive'],
        ['POST', '/versions/1/restore'],
        ['POST', '/tags', { tags: [{ name: 'x' }] }],
        ['POST', '/tags/remove', { tags: [{ name: 'hidden' }] }],
        ['PUT', '/favorite'],
        ['DELETE', '/favorite'],
        ['POST', '/usages', { usageType: 'create_course', outcome: 'success' }],
      ];
      for (const [method, suffix, body] of probes) {
        const other = await call(method, `/v1/templates/${secret.templateId}${suffix}`, { key: keyB, body });
        const none = await call(method, `/v1/templates/${missing}${suffix}`, { key: keyB, body });
        expect([method, suffix, other.statusCode]).toEqual([method, suffix, 404]);
        expect(other.json().type).toBe(none.json().type);
      }
      // Not as a parent either.
      const asParent = await call('POST', '/v1/templates', {
        key: keyB,
        body: { name: unique('Thief'), templateType: 'base', parentTemplateId: secret.templateId },
      });
      expect(asParent.statusCode).toBe(404);
      expect(asParent.json().rule).toBe('template.parent.not_found');
      // Not in search or stats.
      const described = (await call('PATCH', `/v1/templates/${shared.templateId}`, { body: { description: 'for all' } })).json();
      const position = described.position;
      expect((await call('GET', `/v1/templates?q=zzqx&minPosition=${position}`, { key: keyB })).json().total).toBe(0);
      expect((await call('GET', `/v1/templates?q=zzqx`)).json().total).toBe(1);
      const statsB = (await call('GET', '/v1/templates/stats', { key: keyB })).json();
      expect(statsB.mostUsed.map((m: { templateId: string }) => m.templateId)).not.toContain(secret.templateId);

      // The public template: readable, usable, favoritable and inheritable by B; changeable only by A.
      expect((await call('GET', `/v1/templates/${shared.templateId}`, { key: keyB })).statusCode).toBe(200);
      expect((await call('PATCH', `/v1/templates/${shared.templateId}`, { key: keyB, body: { description: 'hijack' } })).statusCode).toBe(
        404,
      );
      expect((await call('PUT', `/v1/templates/${shared.templateId}/favorite`, { key: keyB })).statusCode).toBe(200);
      expect(
        (
          await call('POST', `/v1/templates/${shared.templateId}/usages`, {
            key: keyB,
            body: { usageType: 'schedule_generation', outcome: 'success' },
          })
        ).statusCode,
      ).toBe(200);
      const child = await call('POST', '/v1/templates', {
        key: keyB,
        body: { name: unique('B child'), templateType: 'specialized', parentTemplateId: shared.templateId },
      });
      expect(child.statusCode).toBe(201);
      const childView = (
        await call('GET', `/v1/templates/${child.json().templateId}?minPosition=${child.json().position}`, { key: keyB })
      ).json();
      expect(childView.effective.dynamicProperties).toEqual({ shared: true });
      // A still owns and changes it, and B's favorite and usage did not move A's ETag.
      const mine = await call('PATCH', `/v1/templates/${shared.templateId}`, {
        body: { description: 'still mine' },
        headers: { 'if-match': `"${described.revision}"` },
      });
      expect(mine.statusCode, mine.body).toBe(200);
      const counted = (await call('GET', `/v1/templates/${shared.templateId}?minPosition=${mine.json().position}`)).json();
      expect(counted).toMatchObject({ favoritesCount: 1, usageCount: 1, description: 'still mine' });
    });

    it('reserves system templates to the platform permission and keeps them read-only', async () => {
      const refused = await call('POST', '/v1/templates', { body: { name: unique('Sys'), templateType: 'base', isSystemTemplate: true } });
      expect(refused.statusCode).toBe(403);
      const made = await call('POST', '/v1/templates', {
        key: platformKey,
        body: { name: unique('System base'), templateType: 'base', isSystemTemplate: true },
      });
      expect(made.statusCode, made.body).toBe(201);
      const change = await call('PATCH', `/v1/templates/${made.json().templateId}`, { key: platformKey, body: { description: 'edit' } });
      expect(change.statusCode).toBe(403);
      expect(change.json().rule).toBe('template.system.read_only');
      expect(
        (await call('GET', `/v1/templates/${made.json().templateId}?minPosition=${made.json().position}`, { key: keyB })).statusCode,
      ).toBe(200);
    });

    it('documents every template endpoint in the OpenAPI document', async () => {
      const openapi = (await service.http.inject({ method: 'GET', url: '/docs/json' })).json();
      const operations = Object.entries(openapi.paths as Record<string, Record<string, unknown>>)
        .filter(([path]) => path.startsWith('/v1/templates'))
        .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
      expect(operations).toHaveLength(21);
      expect(operations).toEqual(
        expect.arrayContaining([
          'POST /v1/templates',
          'GET /v1/templates',
          'PATCH /v1/templates/{templateId}',
          'PUT /v1/templates/{templateId}/parent',
          'GET /v1/templates/stats',
          'DELETE /v1/templates/{templateId}',
          'POST /v1/templates/{templateId}/undelete',
        ]),
      );
    });

    it('needs templates:write for commands', async () => {
      const response = await call('POST', '/v1/templates', { key: readerA, body: { name: unique('No'), templateType: 'base' } });
      expect(response.statusCode).toBe(403);
    });
  });
}

e2e('templates end to end on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] templates end to end on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) {
  e2e('templates end to end on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
}

describe('template limits per tenant (embedded)', () => {
  let service: Service;
  let dataDir: string;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-template-limits-'));
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', TEMPLATE_OPS_PER_MINUTE: '4', TEMPLATE_MAX_PER_TENANT: '2' });
    service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
    keyA = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
    keyB = (await service.apiKeys.create({ tenantId: 'globex', userId: 'bob', name: 'b', permissions: ['templates:write'] })).apiKey;
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const post = (key: string, body: unknown, query = '') =>
    service.http.inject({
      method: 'POST',
      url: `/v1/templates${query}`,
      headers: { authorization: `Bearer ${key}` },
      payload: body as object,
    });

  it('caps templates per tenant and template commands per minute, per tenant, with Retry-After', async () => {
    const first = await post(keyA, { name: 'One', templateType: 'base' });
    const second = await post(keyA, { name: 'Two', templateType: 'base' });
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    // The count is read from the read model and kept for a second: wait until it has both, and a second.
    await service.projections.waitFor(await service.eventStore.headPosition(), { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const third = await post(keyA, { name: 'Three', templateType: 'base' });
    expect(third.statusCode).toBe(409);
    expect(third.json().rule).toBe('template.tenant.limit');
    // Fourth command this minute is allowed, the fifth is not; reads are not counted; B has its own budget.
    expect((await post(keyA, { name: 'Four', templateType: 'base' })).statusCode).toBe(409);
    const limited = await post(keyA, { name: 'Five', templateType: 'base' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json().type).toContain('template.rate_limit');
    expect(
      (await service.http.inject({ method: 'GET', url: '/v1/templates', headers: { authorization: `Bearer ${keyA}` } })).statusCode,
    ).toBe(200);
    expect((await post(keyB, { name: 'Five', templateType: 'base' })).statusCode).toBe(201);
  });
});

const redis = redisService();
if (redis.skipReason) console.warn(`[skip] template cache on Redis: ${redis.skipReason}`);

function cacheSuite(label: string, environment: () => Record<string, string>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let key: string;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-template-cache-'));
      const config = loadConfig({
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        REDIS_KEY_PREFIX: `t${randomUUID().slice(0, 8)}`,
        ...environment(),
      });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      key = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:write'] })).apiKey;
    });
    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const call = (method: Method, url: string, body?: unknown) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const cacheCount = async (result: 'hit' | 'miss' | 'error') => {
      const text = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
      return text
        .split('\n')
        .filter((line) => line.startsWith('cache_requests_total{') && line.includes(`result="${result}"`))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };

    it('serves repeated reads from the cache and drops them when the projector commits a change', async () => {
      const created = await call('POST', '/v1/templates', { name: 'Cached calligraphy', templateType: 'base', isPublic: false });
      const { templateId } = created.json();
      const activated = await call('POST', `/v1/templates/${templateId}/activate`);
      await service.projections.waitFor(await service.eventStore.headPosition(), { timeoutMs: 5000 });
      expect(activated.statusCode).toBe(200);
      const hitsBefore = await cacheCount('hit');
      const first = await call('GET', '/v1/templates?q=calligraphy');
      const second = await call('GET', '/v1/templates?q=calligraphy');
      expect(second.json()).toEqual(first.json());
      expect(first.json().items[0].name).toBe('Cached calligraphy');
      expect([await cacheCount('hit'), await cacheCount('error')]).toEqual([hitsBefore + 1, 0]);
      expect((await call('GET', `/v1/templates/${templateId}`)).statusCode).toBe(200);
      expect((await call('GET', `/v1/templates/${templateId}`)).json().name).toBe('Cached calligraphy');

      // The change lands in the cache through the projector's invalidation: an unbusted entry would
      // serve the old name for its whole TTL (60 s / 300 s).
      expect((await call('PATCH', `/v1/templates/${templateId}`, { name: 'Cached calligraphy II' })).statusCode).toBe(200);
      const deadline = Date.now() + 3000;
      let names: [string, string] = ['', ''];
      while (Date.now() < deadline) {
        names = [
          (await call('GET', '/v1/templates?q=calligraphy')).json().items[0]?.name,
          (await call('GET', `/v1/templates/${templateId}`)).json().name,
        ];
        if (names.every((name) => name === 'Cached calligraphy II')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(names).toEqual(['Cached calligraphy II', 'Cached calligraphy II']);
    });
  });
}

cacheSuite('template cache in memory (embedded)', () => ({}));
if (redis.url) cacheSuite('template cache on Redis', () => ({ REDIS_URL: redis.url! }));

describe('template reads with Redis down', () => {
  let service: Service;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-template-noredis-'));
    // Port 1: nothing listens; every cache call fails at once.
    service = await startService(
      loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', REDIS_URL: 'redis://127.0.0.1:1' }),
      pino({ level: 'silent' }),
      { defaultMetrics: false },
    );
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads from PostgreSQL and counts cache errors; readiness names Redis', async () => {
    const key = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'a', permissions: ['templates:read'] })).apiKey;
    const search = await service.http.inject({
      method: 'GET',
      url: '/v1/templates?q=anything',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(search.statusCode).toBe(200);
    expect(search.json()).toMatchObject({ total: 0, items: [] });
    const metrics = (await service.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/cache_requests_total\{cache="redis",result="error"\} [1-9]/);
    const ready = await service.http.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'redis', ok: false })]));
  });
});
