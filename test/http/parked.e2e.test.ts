// Parked work through the whole service: a process manager's poison event and a job whose attempts ran
// out are set aside while another tenant's work goes on, show in /ready (degraded, still ready) and
// /metrics, are listed for a platform key only, and an operator retry runs them. Embedded and PostgreSQL.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { ProcessManager } from '../../src/processes/process-manager.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { until } from '../adapters/queue/job-queue.contract.js';

function parkedSuite(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let platformKey: string;
    let acmeAdmin: string;
    let healed = false;
    const ran: string[] = [];
    // Handles each category's creation; chokes on names starting with "poison" until healed.
    const greeter: ProcessManager = {
      name: 'greeter',
      filter: { categories: ['category'], eventTypes: ['CategoryCreated'] },
      async handle(event, context) {
        const name = String(event.data.name);
        if (name.startsWith('poison-event') && !healed) throw new Error(`cannot greet ${name}`);
        await context.enqueue('greetings', { name }, { attempts: 1 });
      },
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-parked-'));
      service = await startService(
        loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', PROCESS_PARK_AFTER: '2', ...(await environment()) }),
        pino({ level: 'silent' }),
        {
          defaultMetrics: false,
          processes: [greeter],
          workers: [
            {
              queue: 'greetings',
              handler: async (job) => {
                const name = String(job.payload.name);
                if (name.startsWith('poison-job') && !healed) throw new Error(`cannot deliver ${name}`);
                ran.push(name);
              },
            },
          ],
        },
      );
      platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      acmeAdmin = (await service.apiKeys.create({ tenantId: 'acme', userId: 'alice', name: 'acme admin', permissions: ['admin'] })).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST', url: string, key?: string, body?: unknown) =>
      service.http.inject({
        method,
        url,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        ...(body !== undefined ? { payload: body as object } : {}),
      });

    it('parks a poison event and a poison job while another tenant goes on; /ready, /metrics, list and retry', async () => {
      for (const name of ['poison-event-1', 'poison-job-1'])
        expect((await call('POST', '/v1/categories', platformKey, { name })).statusCode).toBe(201);
      expect((await call('POST', '/v1/categories', acmeAdmin, { name: 'acme-fine' })).statusCode).toBe(201);
      await until(() => ran.includes('acme-fine'), 20_000);
      await until(async () => {
        const parked = (await call('GET', '/ready')).json().parked;
        return parked?.events === 1 && parked?.jobs === 1;
      }, 20_000);

      const ready = await call('GET', '/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ ready: true, degraded: true, parked: { events: 1, jobs: 1 } });
      const metrics = (await call('GET', '/metrics')).body;
      expect(metrics).toMatch(/^parked_items\{kind="event"\} 1$/m);
      expect(metrics).toMatch(/^parked_items\{kind="job"\} 1$/m);

      // Every tenant's items: a tenant admin may not see them, nor retry.
      expect((await call('GET', '/v1/admin/parked', acmeAdmin)).statusCode).toBe(403);
      const listed = await call('GET', '/v1/admin/parked', platformKey);
      expect(listed.statusCode).toBe(200);
      const { events, jobs } = listed.json();
      expect(events).toEqual([
        expect.objectContaining({ process: 'process_greeter', eventType: 'CategoryCreated', tenantId: 'default', attempts: 2 }),
      ]);
      expect(events[0].lastError).toMatch(/cannot greet poison-event-1/);
      expect(jobs).toEqual([expect.objectContaining({ queue: 'greetings', payload: { name: 'poison-job-1' }, attempts: 1 })]);
      const eventUrl = `/v1/admin/parked/events/process_greeter/${events[0].eventId}/retry`;
      const jobUrl = `/v1/admin/parked/jobs/greetings/${encodeURIComponent(jobs[0].id)}/retry`;
      expect((await call('POST', eventUrl, acmeAdmin)).statusCode).toBe(403);

      // Still broken: the event stays parked, and the answer says why.
      const stillFailing = await call('POST', eventUrl, platformKey);
      expect(stillFailing.statusCode).toBe(409);
      expect(stillFailing.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(stillFailing.json()).toMatchObject({ type: expect.stringMatching(/parked\.retry_failed$/) });

      healed = true;
      expect((await call('POST', eventUrl, platformKey)).json()).toEqual({ retried: true });
      expect((await call('POST', jobUrl, platformKey)).json()).toEqual({ retried: true });
      await until(() => ran.includes('poison-event-1') && ran.includes('poison-job-1'), 20_000);
      const after = await call('GET', '/ready');
      expect(after.json()).toMatchObject({ ready: true, degraded: false, parked: { events: 0, jobs: 0 } });
      for (const url of [eventUrl, jobUrl, '/v1/admin/parked/jobs/no-such-queue/x/retry']) {
        const again = await call('POST', url, platformKey);
        expect(again.statusCode).toBe(404);
        expect(again.json()).toMatchObject({ type: expect.stringMatching(/parked\.not_found$/) });
      }
    });
  });
}

parkedSuite('parked work on the embedded default (PGlite)', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] parked work on PostgreSQL: ${postgres.skipReason}`);
if (postgres.url) parkedSuite('parked work on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
