// `npm run replay` as a real process against a real service (embedded PGlite, listening on a port): it
// starts the replay, follows the SSE progress to the swap and exits 0; a key without the platform
// permission and an unknown projection exit 1 with the reason; bad arguments exit 2.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { runBuilt } from '../packaging/processes.js';

/** The CLI `npm run replay` runs, compiled once (test/support/built-source.ts) instead of through tsx per run. */
async function replay(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = await runBuilt('cli/replay', args, { KYO_API_KEY: '', DATA_DIR: join(tmpdir(), 'kyo-replay-none') });
  const { code } = await child.exited;
  return { code, output: child.output() };
}

describe('npm run replay', () => {
  let service: Service;
  let dataDir: string;
  let url: string;
  let platformKey: string;
  let tenantKey: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-replay-'));
    service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), pino({ level: 'silent' }), {
      defaultMetrics: false,
    });
    await service.http.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(service.http.server.address() as AddressInfo).port}`;
    platformKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    tenantKey = (await service.apiKeys.create({ tenantId: 'acme', userId: 'ann', name: 'a', permissions: ['admin'] })).apiKey;
    for (const name of ['One', 'Two', 'Three']) {
      await service.http.inject({
        method: 'POST',
        url: '/v1/categories',
        headers: { authorization: `Bearer ${tenantKey}` },
        payload: { name },
      });
    }
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('replays a projection to the swap and reports the events replayed', async () => {
    const { code, output } = await replay(['categories', '--url', url, '--key', platformKey]);
    expect(output).toMatch(/categories: \d+ events replayed; the fresh tables are live/);
    expect(code).toBe(0);
    const list = await service.http.inject({ method: 'GET', url: '/v1/categories', headers: { authorization: `Bearer ${tenantKey}` } });
    expect(list.json().total).toBe(3);
  }, 60_000);

  it('refuses a replay from a position with the reason, and the read model keeps every row (#15.11)', async () => {
    // The read model as it stood at a position is not kept, so a replay of only the events after it would
    // swap in tables that lack everything before it: refused before anything is touched.
    const { code, output } = await replay(['categories', '--from', '1.1', '--url', url, '--key', platformKey]);
    expect(code).toBe(1);
    expect(output).toMatch(/replay refused \(400\): .*from position 0/);
    expect(output).not.toMatch(/fresh tables are live/);
    const list = await service.http.inject({ method: 'GET', url: '/v1/categories', headers: { authorization: `Bearer ${tenantKey}` } });
    expect(list.json().total).toBe(3);
  }, 60_000);

  it('says why it was refused, and exits 2 on bad arguments', async () => {
    const forbidden = await replay(['categories', '--url', url, '--key', tenantKey]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.output).toMatch(/replay refused \(403\).*platform/);
    const unknown = await replay(['nope', '--url', url, '--key', platformKey]);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/replay refused \(404\)/);
    expect((await replay(['categories', '--from', 'yesterday', '--url', url, '--key', platformKey])).code).toBe(2);
    expect((await replay([])).code).toBe(2);
  }, 60_000);
});
