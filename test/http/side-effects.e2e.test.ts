// #15.10: the side-effects pause of a restored store, seen by two service instances on one PostgreSQL.
// Only the platform permission reads or resumes it (a tenant admin: 403 problem+json; no key: 401), and a
// resume on one instance reaches the other: each holds its own copy of the pause and, while paused,
// reads the pause row again (SIDE_EFFECTS_PAUSE_CHECK_MS), so the other starts its gated parts too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { pauseSideEffects, readSideEffectsPause } from '../../src/adapters/event-store/side-effects-pause.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] side effects on two instances: ${postgres.skipReason}`);

const dirs: string[] = [];
const services: Service[] = [];
afterAll(async () => {
  for (const service of services) await service.close().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!postgres.url)('side effects of a restored store on two instances (PostgreSQL)', () => {
  it('403 to a tenant admin, 401 without a key; a platform resume on one instance starts the other too', async () => {
    const databaseUrl = await createTestDatabase(postgres.url!);
    // The store as a restore leaves it: paused.
    const setup = createPgDatabase({ connectionString: databaseUrl });
    await pauseSideEffects(setup, 'restored from backup b-1 (restore r-1)');

    for (const name of ['a', 'b']) {
      const dir = mkdtempSync(join(tmpdir(), `kyo-side-effects-${name}-`));
      dirs.push(dir);
      services.push(
        await startService(
          loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, REDIS_URL: '', SIDE_EFFECTS_PAUSE_CHECK_MS: '200' }),
          pino({ level: 'silent' }),
          { defaultMetrics: false },
        ),
      );
    }
    const [a, b] = services as [Service, Service];
    // The first instance made the bootstrap (platform) key of the shared database.
    const platformKey = readFileSync(join(dirs[0]!, 'bootstrap-api-key'), 'utf8').trim();
    const tenantAdmin = (await a.apiKeys.create({ tenantId: 'default', userId: 'ada', name: 'tenant admin', permissions: ['admin'] }))
      .apiKey;
    const call = (service: Service, method: 'GET' | 'POST', url: string, key?: string) =>
      service.http.inject({ method, url, ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}) });
    const stateOf = async (service: Service) => (await call(service, 'GET', '/v1/admin/side-effects', platformKey)).json().state;
    const gatedRunning = (service: Service) => service.processes.states().some((state) => state.state !== 'stopped');

    for (const service of [a, b]) {
      expect(await stateOf(service)).toBe('paused');
      expect(gatedRunning(service)).toBe(false);
    }

    for (const [method, url] of [
      ['GET', '/v1/admin/side-effects'],
      ['POST', '/v1/admin/side-effects/resume'],
    ] as const) {
      const forbidden = await call(a, method, url, tenantAdmin);
      expect(forbidden.statusCode, `${method} ${url}`).toBe(403);
      expect(forbidden.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(forbidden.json()).toMatchObject({ status: 403, permission: 'platform' });
      const anonymous = await call(a, method, url);
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
      expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    // Refused: nothing resumed, anywhere.
    expect(await readSideEffectsPause(setup)).toBeDefined();
    expect(await stateOf(a)).toBe('paused');

    const resumed = await call(a, 'POST', '/v1/admin/side-effects/resume', platformKey);
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ state: 'running' });
    expect(gatedRunning(a)).toBe(true);
    // The other instance was not called: it finds the pause gone and starts its gated parts.
    await until(async () => (await stateOf(b)) === 'running' && gatedRunning(b), 'the other instance to resume');
    const ready = await call(b, 'GET', '/ready');
    expect(ready.json().checks).toContainEqual(expect.objectContaining({ name: 'side-effects', ok: true }));
    await setup.close();
  }, 120_000);
});
