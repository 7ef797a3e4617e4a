// GET /v1/orchestrators through the real service: with nothing configured (the embedded default) it names
// what to set; with DOCKER_HOST on podman's Docker API it reports Docker reachable; an engine that does not
// answer is reported unreachable, without internal addresses.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { dockerService } from '../support/services.js';

// One data directory for the file: the tests differ in configuration only, and a reopened PGlite starts in a
// fraction of the time a new one takes (its initdb in WASM: 10 s and more on a loaded machine).
const dataDir = mkdtempSync(join(tmpdir(), 'kyo-orchestrators-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function withService(
  environment: Record<string, string>,
  run: (get: (key?: string) => Promise<{ status: number; body: unknown }>, service: Service) => Promise<void>,
) {
  const service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...environment }), pino({ level: 'silent' }), {
    defaultMetrics: false,
  });
  try {
    const adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    await run(async (key = adminKey) => {
      const response = await service.http.inject({
        method: 'GET',
        url: '/v1/orchestrators',
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
      return { status: response.statusCode, body: response.json() };
    }, service);
  } finally {
    await service.close();
  }
}

describe('GET /v1/orchestrators', () => {
  it('with nothing configured, says neither is configured and what to set; needs a credential and deployments:read', async () => {
    await withService({}, async (get, service) => {
      expect(await get()).toEqual({
        status: 200,
        body: {
          orchestrators: [
            { kind: 'docker', configured: false, reachable: false, detail: 'set DOCKER_HOST' },
            { kind: 'kubernetes', configured: false, reachable: false, detail: 'set KUBECONFIG' },
          ],
        },
      });
      expect((await get('')).status).toBe(401);
      const { apiKey } = await service.apiKeys.create({ tenantId: 'default', userId: 'u', name: 'n', permissions: ['categories:read'] });
      expect((await get(apiKey)).status).toBe(403);
      const reader = await service.apiKeys.create({ tenantId: 'other', userId: 'u', name: 'n', permissions: ['deployments:read'] });
      expect((await get(reader.apiKey)).status).toBe(200);
    });
  });

  it('reports engines that do not answer as configured but unreachable, without their addresses', async () => {
    const socket = `/tmp/kyo-no-docker-${randomUUID()}.sock`;
    const dir = mkdtempSync(join(tmpdir(), 'kyo-kubeconfig-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'c',
      }),
    );
    try {
      await withService({ DOCKER_HOST: `unix://${socket}`, KUBECONFIG: kubeconfig }, async (get) => {
        const { body } = await get();
        expect(body).toMatchObject({
          orchestrators: [
            { kind: 'docker', configured: true, reachable: false },
            { kind: 'kubernetes', configured: true, reachable: false },
          ],
        });
        expect(JSON.stringify(body)).not.toContain(socket);
        expect(JSON.stringify(body)).not.toContain('127.0.0.1');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const docker = dockerService();
  it.skipIf(!docker.url)(`reports Docker reachable on podman's Docker API ${docker.skipReason ?? ''}`, async () => {
    await withService({ DOCKER_HOST: docker.url! }, async (get) => {
      const { status, body } = await get();
      expect(status).toBe(200);
      expect(body).toMatchObject({
        orchestrators: [
          { kind: 'docker', configured: true, reachable: true, detail: expect.stringMatching(/Docker Engine API|API 1\./) },
          { kind: 'kubernetes' },
        ],
      });
    });
  });

  it('refuses a DOCKER_HOST that is not unix:// or tcp://', () => {
    expect(() => loadConfig({ DOCKER_HOST: 'docker.sock' })).toThrow(/DOCKER_HOST must be a URL starting with unix:\/\/ or tcp:\/\//);
  });
});
