// Environments, configs and config templates end to end through the real service (embedded PGlite, and
// PostgreSQL when available): commands → events → projection → queries, If-Match, Idempotency-Key, tenancy,
// bad input, and secrets that never show in plaintext in the event store, the read models, logs or answers.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, postgresService } from '../support/services.js';

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let otherKey: string;
    let readerKey: string;
    const logs: string[] = [];

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-env-e2e-'));
      const config = loadConfig({ DATA_DIR: dataDir, READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      // Everything the service logs, down to debug, is kept to search for secrets.
      const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
      service = await startService(config, pino({ level: 'debug' }, sink), { defaultMetrics: false });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      otherKey = (await service.apiKeys.create({ tenantId: 'globex', userId: 'mallory', name: 'other', permissions: ['admin'] })).apiKey;
      readerKey = (
        await service.apiKeys.create({
          tenantId: 'default',
          userId: 'reader',
          name: 'r',
          permissions: ['environments:read', 'configs:read'],
        })
      ).apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${options.key ?? adminKey}`, ...options.headers },
        ...(options.body !== undefined ? { payload: options.body as object } : {}),
      });
    const newEnvironment = async (body: Record<string, unknown>) => {
      const response = await call('POST', '/v1/environments', { body: { type: 'staging', orchestrator: 'docker', ...body } });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { environmentId: string; position: string; revision: number };
    };

    it('creates an environment, reads it back through minPosition, lists and filters it', async () => {
      const created = await call('POST', '/v1/environments', {
        body: {
          name: 'Production EU',
          type: 'production',
          orchestrator: 'kubernetes',
          quotas: { maxReplicasPerService: 10, maxTotalReplicas: 50 },
          networking: { ingressHost: 'app.example.com', tls: true, loadBalancer: 'loadbalancer' },
          security: { serviceAccount: 'deployer', roles: ['view'], networkPolicies: [{ name: 'web', ports: [443] }], runAsNonRoot: true },
        },
      });
      expect(created.statusCode).toBe(201);
      const { environmentId, position } = created.json();
      expect(created.headers.location).toBe(`/v1/environments/${environmentId}`);
      expect(created.headers.etag).toBe('"0"');
      const one = await call('GET', `/v1/environments/${environmentId}?minPosition=${position}`);
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({
        environmentId,
        name: 'Production EU',
        type: 'production',
        orchestrator: 'kubernetes',
        target: 'production-eu', // made from the name
        status: 'active',
        flags: { autoScale: false, monitoring: true, logging: true, backup: false },
        quotas: { maxReplicasPerService: 10, maxTotalReplicas: 50 },
        networking: { ingressHost: 'app.example.com', tls: true },
        security: { runAsNonRoot: true, networkPolicies: [{ name: 'web', ports: [443] }] },
        revision: 0,
      });
      const list = (await call('GET', `/v1/environments?type=production&orchestrator=kubernetes&q=eu&minPosition=${position}`)).json();
      expect(list).toMatchObject({ total: 1, items: [{ environmentId }] });
      expect((await call('GET', `/v1/environments?type=testing`)).json().total).toBe(0);
    });

    it('refuses duplicate names and targets, bad targets and other bad input, writing nothing', async () => {
      await newEnvironment({ name: 'Dup', target: 'dup-net' });
      const before = await service.eventStore.headPosition();
      // Each request is tagged: what it wrote would carry the tag as correlation id (an earlier test's background
      // work, e.g. a teardown, may append meanwhile, so the log's head is not the measure).
      const tag = `refused-${Date.now()}`;
      const headers = { 'x-correlation-id': tag };
      const cases: [unknown, number, string][] = [
        [{ name: ' dup ', type: 'staging', orchestrator: 'docker', target: 'other-net' }, 409, 'body.name'],
        [{ name: 'Another', type: 'staging', orchestrator: 'docker', target: 'dup-net' }, 409, 'body.target'],
        [{ name: 'Bad', type: 'staging', orchestrator: 'docker', target: 'Not_A_Label' }, 400, 'body.target'],
        [{ name: 'Bad', type: 'staging', orchestrator: 'docker', target: '-x' }, 400, 'body.target'],
        [{ name: 'Bad', type: 'staging', orchestrator: 'docker', target: 'a'.repeat(64) }, 400, 'body.target'],
        [{ name: 'Bad', type: 'qa', orchestrator: 'docker' }, 400, 'body.type'],
        [{ name: 'Bad', type: 'staging', orchestrator: 'nomad' }, 400, 'body.orchestrator'],
        [{ name: '', type: 'staging', orchestrator: 'docker' }, 400, 'body.name'],
        [
          { name: 'Bad', type: 'staging', orchestrator: 'docker', quotas: { maxReplicasPerService: 0 } },
          400,
          'body.quotas.maxReplicasPerService',
        ],
        [
          { name: 'Bad', type: 'staging', orchestrator: 'docker', quotas: { maxReplicasPerService: 9, maxTotalReplicas: 3 } },
          400,
          'body.quotas.maxReplicasPerService',
        ],
        [{ name: 'Bad', type: 'staging', orchestrator: 'docker', networking: { tls: true } }, 400, 'body.networking.tls'],
        [
          { name: 'Bad', type: 'staging', orchestrator: 'docker', networking: { ingressHost: 'Not a host' } },
          400,
          'body.networking.ingressHost',
        ],
        [{ name: 'Bad', type: 'staging', orchestrator: 'docker', colour: 'red' }, 400, 'body'],
        [{ name: 'Bad\u0000', type: 'staging', orchestrator: 'docker' }, 400, ''],
      ];
      for (const [body, status, field] of cases) {
        const response = await call('POST', '/v1/environments', { body, headers });
        expect([JSON.stringify(body), response.statusCode]).toEqual([JSON.stringify(body), status]);
        expect(response.headers['content-type']).toContain('application/problem+json');
        if (field) expect(JSON.stringify(response.json().errors)).toContain(field);
      }
      expect(
        (
          await call('POST', '/v1/environments', {
            key: readerKey,
            headers,
            body: { name: 'Nope', type: 'staging', orchestrator: 'docker' },
          })
        ).statusCode,
      ).toBe(403);
      const since = await service.eventStore.readAll({ after: before, maxCount: 10_000 });
      expect(since.events.filter((event) => event.metadata.correlationId === tag).map((event) => event.type)).toEqual([]);
    });

    it('lets exactly one of several racing creates take a name', async () => {
      const racers = await Promise.all(
        [1, 2, 3, 4].map((i) =>
          call('POST', '/v1/environments', { body: { name: 'Raced', type: 'testing', orchestrator: 'docker', target: `raced-${i}` } }),
        ),
      );
      expect(racers.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409]);
      const winner = racers.find((r) => r.statusCode === 201)!.json();
      const list = (await call('GET', `/v1/environments?q=raced&minPosition=${winner.position}`)).json();
      expect(list.items.map((e: { environmentId: string }) => e.environmentId)).toEqual([winner.environmentId]);
    });

    it('changes an environment with If-Match, refuses to move its target, and shows it asOf', async () => {
      const { environmentId } = await newEnvironment({ name: 'Patchy' });
      const beforeChange = new Date();
      await new Promise((r) => setTimeout(r, 20));
      const changed = await call('PATCH', `/v1/environments/${environmentId}`, {
        body: { name: 'Patched', flags: { backup: true }, quotas: { cpuMillis: 2000 } },
        headers: { 'if-match': '"0"' },
      });
      expect(changed.statusCode).toBe(200);
      expect(changed.headers.etag).toBe('"1"');
      const stale = await call('PATCH', `/v1/environments/${environmentId}`, { body: { type: 'testing' }, headers: { 'if-match': '"0"' } });
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({ currentRevision: 1 });
      const moved = await call('PATCH', `/v1/environments/${environmentId}`, { body: { target: 'elsewhere' } });
      expect(moved.statusCode).toBe(422);
      expect(moved.json()).toMatchObject({ rule: 'environment.target.immutable', errors: [{ field: 'body.target' }] });
      const now = (await call('GET', `/v1/environments/${environmentId}?minPosition=${changed.json().position}`)).json();
      expect(now).toMatchObject({ name: 'Patched', flags: { backup: true }, quotas: { cpuMillis: 2000 }, revision: 1 });
      const then = await call('GET', `/v1/environments/${environmentId}?asOf=${beforeChange.toISOString()}`);
      expect(then.json()).toMatchObject({ name: 'Patchy', flags: { backup: false }, revision: 0 });
      expect((await call('GET', `/v1/environments/${environmentId}?asOf=2000-01-01`)).statusCode).toBe(404);
    });

    it('deletes an environment and frees its name; replays a create with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `env-create-${Date.now()}` };
      const body = { name: 'Ephemeral', type: 'testing', orchestrator: 'docker' };
      const first = await call('POST', '/v1/environments', { body, headers });
      const again = await call('POST', '/v1/environments', { body, headers });
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      expect(again.headers['idempotent-replay']).toBe('true');
      // The same key with another request is refused; another tenant's same key is another command.
      const reused = await call('POST', '/v1/environments', { body: { ...body, name: 'Other' }, headers });
      expect(reused.statusCode).toBe(422);
      const theirs = await call('POST', '/v1/environments', { key: otherKey, body, headers });
      expect(theirs.statusCode).toBe(201);
      expect(theirs.json().environmentId).not.toBe(first.json().environmentId);
      const { environmentId } = first.json();
      const deleted = await call('DELETE', `/v1/environments/${environmentId}?force=false`);
      expect(deleted.statusCode).toBe(200);
      expect((await call('GET', `/v1/environments/${environmentId}?minPosition=${deleted.json().position}`)).statusCode).toBe(404);
      expect((await call('POST', '/v1/environments', { body })).statusCode).toBe(201);
      expect((await call('DELETE', `/v1/environments/${environmentId}?force=maybe`)).statusCode).toBe(400);
    });

    it('hides another tenant’s environments, configs and templates behind 404', async () => {
      const { environmentId } = await newEnvironment({ name: 'Private' });
      const config = (
        await call('POST', '/v1/configs', { body: { name: 'private', type: 'configmap', data: { A: '1' }, environmentId } })
      ).json();
      const template = (
        await call('POST', '/v1/config-templates', { body: { name: 'T', configType: 'configmap', data: { A: 'x' } } })
      ).json();
      await call('GET', `/v1/config-templates/${template.templateId}?minPosition=${template.position}`);
      const other = { key: otherKey };
      for (const [method, url, body] of [
        ['GET', `/v1/environments/${environmentId}`, undefined],
        ['GET', `/v1/environments/${environmentId}?asOf=2100-01-01`, undefined],
        ['PATCH', `/v1/environments/${environmentId}`, { name: 'Mine' }],
        ['DELETE', `/v1/environments/${environmentId}?force=true`, undefined],
        ['GET', `/v1/configs/${config.configId}`, undefined],
        ['GET', `/v1/configs/${config.configId}?asOf=2100-01-01`, undefined],
        ['GET', `/v1/configs/${config.configId}/versions`, undefined],
        ['PATCH', `/v1/configs/${config.configId}`, { data: { A: '2' } }],
        ['DELETE', `/v1/configs/${config.configId}`, undefined],
        ['GET', `/v1/config-templates/${template.templateId}`, undefined],
        ['PATCH', `/v1/config-templates/${template.templateId}`, { name: 'Mine' }],
        ['POST', `/v1/config-templates/${template.templateId}/render`, { variables: {}, dryRun: true }],
        ['DELETE', `/v1/config-templates/${template.templateId}`, undefined],
      ] as const) {
        const response = await call(method, url, { ...other, ...(body ? { body } : {}) });
        expect([method, url, response.statusCode]).toEqual([method, url, 404]);
      }
      // A config of another tenant's environment: the environment is unknown to them.
      const theirs = await call('POST', '/v1/configs', { ...other, body: { name: 'x', type: 'configmap', data: {}, environmentId } });
      expect(theirs.statusCode).toBe(422);
      expect(theirs.json().errors[0].field).toBe('body.environmentId');
      expect((await call('GET', '/v1/environments?q=private', other)).json().total).toBe(0);
      expect((await call('GET', `/v1/environments/${environmentId}`)).json()).toMatchObject({ name: 'Private', revision: 0 });
    });

    it('versions configs, masks secrets, and never lets a secret’s plaintext reach events, tables, logs or answers', async () => {
      const { environmentId } = await newEnvironment({ name: 'Secretive' });
      const plaintext = `s3cr3t-${Date.now()}-value`;
      const created = await call('POST', '/v1/configs', {
        body: { name: 'db', type: 'secret', data: { PASSWORD: plaintext, USER: `${plaintext}-user` }, environmentId, rollServices: true },
      });
      expect(created.statusCode).toBe(201);
      const { configId } = created.json();
      const updated = await call('PATCH', `/v1/configs/${configId}`, {
        body: { data: { PASSWORD: `${plaintext}-2` } },
        headers: { 'if-match': '"0"' },
      });
      expect(updated.json()).toMatchObject({ version: 2, revision: 1 });
      const answers = [
        created,
        updated,
        await call('GET', `/v1/configs/${configId}?minPosition=${updated.json().position}`),
        await call('GET', `/v1/configs/${configId}/versions`),
        await call('GET', `/v1/configs?environmentId=${environmentId}`),
        await call('GET', `/v1/configs/${configId}?asOf=2100-01-01`),
        await call('POST', '/v1/configs', { body: { name: 'bad', type: 'secret', data: { 'bad key!': plaintext } } }),
        await call('POST', '/v1/configs/rewrap'),
      ];
      expect(answers[2]!.json()).toMatchObject({
        configId,
        type: 'secret',
        version: 2,
        keys: ['PASSWORD'],
        data: { PASSWORD: '********' },
      });
      expect(answers[3]!.json().items.map((v: { version: number; data: object }) => [v.version, v.data])).toEqual([
        [2, { PASSWORD: '********' }],
        [1, { PASSWORD: '********', USER: '********' }],
      ]);
      expect(answers[6]!.statusCode).toBe(400);
      for (const answer of answers) expect(answer.body).not.toContain(plaintext);
      // Every table of every schema: the event store's and the read models'.
      const tables = await service.db.query<{ s: string; t: string }>(
        `SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
      );
      expect(tables.map((t) => t.t)).toEqual(expect.arrayContaining(['configs', 'config_versions']));
      for (const { s, t } of tables) {
        const [row] = await service.db.query<{ n: string }>(`SELECT count(*) AS n FROM "${s}"."${t}" x WHERE x::text LIKE $1`, [
          `%${plaintext}%`,
        ]);
        expect([s, t, Number(row!.n)]).toEqual([s, t, 0]);
      }
      expect(logs.length).toBeGreaterThan(0);
      expect(logs.join('')).not.toContain(plaintext);
      // A plain configmap's values are shown, and an unchanged one makes no new version.
      const plain = (await call('POST', '/v1/configs', { body: { name: 'app', type: 'configmap', data: { MODE: 'fast' } } })).json();
      const same = (await call('PATCH', `/v1/configs/${plain.configId}`, { body: { data: { MODE: 'fast' } } })).json();
      expect(same).toMatchObject({ version: 1, revision: 0 });
      expect((await call('GET', `/v1/configs/${plain.configId}?minPosition=${plain.position}`)).json().data).toEqual({ MODE: 'fast' });
      expect((await call('POST', '/v1/configs', { body: { name: 'app', type: 'configmap', data: {} } })).statusCode).toBe(409);
      const badEnv = await call('POST', '/v1/configs', { body: { name: 'e', type: 'environment', data: { '1BAD': 'x' } } });
      expect(badEnv.json()).toMatchObject({ rule: 'config.data.key', errors: [{ field: 'body.data.1BAD' }] });
      expect(statSync(join(dataDir, 'secrets-key')).mode & 0o777).toBe(0o600);
    });

    it('renders templates into configs and validates variables and any config, with warnings', async () => {
      const template = await call('POST', '/v1/config-templates', {
        body: {
          name: 'web',
          configType: 'environment',
          variables: [
            { name: 'replicas', type: 'number', required: true },
            { name: 'tier', type: 'enum', values: ['small', 'large'], default: 'small' },
            { name: 'host', type: 'string', required: true, pattern: '^[a-z.]+$' },
            { name: 'debug', type: 'boolean' },
          ],
          data: { REPLICAS: '{{ replicas }}', TIER: '{{tier}}', HOST: '{{ host }}', IMAGE: 'nginx:latest' },
        },
      });
      expect(template.statusCode).toBe(201);
      const { templateId } = template.json();
      const duplicate = await call('POST', '/v1/config-templates', { body: { name: ' WEB ', configType: 'configmap', data: {} } });
      expect(duplicate.json()).toMatchObject({ rule: 'config_template.name.unique', errors: [{ field: 'body.name' }] });
      const dry = await call('POST', `/v1/config-templates/${templateId}/render`, {
        body: { variables: { replicas: 3, host: 'a.example' }, dryRun: true },
      });
      expect(dry.json()).toMatchObject({ data: { REPLICAS: '3', TIER: 'small', HOST: 'a.example', IMAGE: 'nginx:latest' } });
      expect(dry.json().warnings).toEqual([expect.objectContaining({ field: 'data.IMAGE', rule: 'image.floating_tag' })]);
      const bad = await call('POST', `/v1/config-templates/${templateId}/render`, {
        body: { variables: { tier: 'huge', host: 'A!', debug: 'yes', extra: 1 }, name: 'x' },
      });
      expect(bad.statusCode).toBe(400);
      expect(
        bad
          .json()
          .errors.map((e: { field: string; rule: string }) => `${e.field}:${e.rule}`)
          .sort(),
      ).toEqual([
        'body.variables.debug:type.boolean',
        'body.variables.extra:unknown',
        'body.variables.host:pattern',
        'body.variables.replicas:required',
        'body.variables.tier:enum',
      ]);
      const rendered = await call('POST', `/v1/config-templates/${templateId}/render`, {
        body: { variables: { replicas: '2', host: 'b.example' }, name: 'web-env' },
      });
      expect(rendered.statusCode).toBe(201);
      const config = await call('GET', `/v1/configs/${rendered.json().configId}?minPosition=${rendered.json().position}`);
      expect(config.json()).toMatchObject({ name: 'web-env', type: 'environment', data: { REPLICAS: '2', HOST: 'b.example' } });
      const validated = await call('POST', `/v1/config-templates/${templateId}/validate`, { body: { variables: { replicas: 'many' } } });
      expect(validated.json()).toMatchObject({
        valid: false,
        errors: expect.arrayContaining([{ field: 'variables.replicas', rule: 'type.number', message: expect.any(String) }]),
      });
      const any = await call('POST', '/v1/config-templates/validate', {
        body: {
          config: {
            spec: {
              replicas: 'x',
              services: [{ name: 'api', image: 'api:latest', privileged: true, env: { DB_PASSWORD: 'hunter2', TOKEN: '${TOKEN}' } }],
            },
          },
          schema: [
            { name: 'spec.replicas', type: 'number', required: true },
            { name: 'spec.region', type: 'string', required: true },
          ],
        },
      });
      expect(any.statusCode).toBe(200);
      const result = any.json();
      expect(result.valid).toBe(false);
      expect(result.errors.map((e: { field: string; rule: string }) => `${e.field}:${e.rule}`)).toEqual([
        'spec.replicas:type.number',
        'spec.region:required',
      ]);
      expect(result.warnings.map((e: { field: string; rule: string }) => `${e.field}:${e.rule}`).sort()).toEqual([
        'spec.services.0.env.DB_PASSWORD:env.plain_secret',
        'spec.services.0.image:image.floating_tag',
        'spec.services.0.privileged:security.privileged',
        'spec.services.0.resources:resources.missing_limits',
      ]);
      const badTemplate = await call('POST', '/v1/config-templates', {
        body: { name: 'bad', configType: 'configmap', data: { A: '{{ nope }}' } },
      });
      expect(badTemplate.json()).toMatchObject({ rule: 'config_template.placeholder.unknown', errors: [{ field: 'body.data.A' }] });
      const badPattern = await call('POST', '/v1/config-templates', {
        body: { name: 'bad', configType: 'configmap', variables: [{ name: 'x', type: 'string', pattern: '(' }], data: {} },
      });
      expect(badPattern.json().errors[0].field).toBe('body.variables.0.pattern');
    });

    it('lists its projection in /ready and its routes in the OpenAPI document', async () => {
      expect((await service.http.inject({ method: 'GET', url: '/ready' })).json().projections).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'environments', state: 'running' })]),
      );
      const openapi = (await service.http.inject({ method: 'GET', url: '/docs/json' })).json();
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining([
          '/v1/environments',
          '/v1/environments/{environmentId}',
          '/v1/configs',
          '/v1/configs/{configId}',
          '/v1/configs/{configId}/versions',
          '/v1/configs/rewrap',
          '/v1/config-templates',
          '/v1/config-templates/{templateId}',
          '/v1/config-templates/{templateId}/render',
          '/v1/config-templates/{templateId}/validate',
          '/v1/config-templates/validate',
        ]),
      );
    });
  });
}

e2e('environments end to end on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] environments end to end on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('environments end to end on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
