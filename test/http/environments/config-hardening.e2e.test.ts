// Config templates and configs pushed as an attacker would (issue #15 items 3, 8, 17, 18), through the real
// service on embedded PGlite and on PostgreSQL: a user's pattern cannot wedge the event loop, a secret's
// values come back in no answer, warning, error or event, config keys are ones every orchestrator can
// mount, and variables named after Object.prototype members are plain names.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { USER_PATTERN_INPUT_MAX } from '../../../src/domain/user-pattern.js';
import type { Position } from '../../../src/ports/event-store.js';
import { startService, type Service } from '../../../src/service.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__proto__', '__defineGetter__'];

function e2e(label: string, environment: () => Promise<Record<string, string>>) {
  describe(label, () => {
    let service: Service;
    let dataDir: string;
    let adminKey: string;
    let readerKey: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kyo-config-hardening-'));
      const config = loadConfig({ DATA_DIR: dataDir, READ_YOUR_WRITES_TIMEOUT_MS: '5000', ...(await environment()) });
      service = await startService(config, pino({ level: 'silent' }), { defaultMetrics: false });
      adminKey = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
      readerKey = (await service.apiKeys.create({ tenantId: 'default', userId: 'reader', name: 'r', permissions: ['configs:read'] }))
        .apiKey;
    });

    afterAll(async () => {
      await service?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, key = adminKey) =>
      service.http.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const eventsAfter = async (after: Position) => {
      const all = [];
      for (let from = after; ;) {
        const page = await service.eventStore.readAll({ after: from, maxCount: 500 });
        all.push(...page.events);
        if (page.isEnd || page.events.length === 0) return all;
        from = page.lastPosition;
      }
    };
    const refusedNaming = async (response: Awaited<ReturnType<typeof call>>, rule: string, field: string) => {
      expect([response.statusCode, response.headers['content-type']]).toEqual([400, expect.stringContaining('application/problem+json')]);
      expect(response.json()).toMatchObject({ rule, errors: [expect.objectContaining({ field, rule })] });
    };

    it('runs a catastrophic pattern on the longest value in linear time, and /health answers (item 3)', async () => {
      const created = await call('POST', '/v1/config-templates', {
        name: 'evil',
        configType: 'configmap',
        variables: [{ name: 'v', type: 'string', pattern: '^(a+)+$' }],
        data: { V: '{{ v }}' },
      });
      expect(created.statusCode, created.body).toBe(201);
      const { templateId } = created.json();
      // 2^4095 paths for a backtracking engine: this could never answer on one.
      const value = `${'a'.repeat(USER_PATTERN_INPUT_MAX - 1)}!`;
      const validated = await call('POST', `/v1/config-templates/${templateId}/validate`, { variables: { v: value } }, readerKey);
      expect(validated.statusCode).toBe(200);
      expect(validated.json()).toMatchObject({ valid: false, errors: [{ field: 'variables.v', rule: 'pattern' }] });
      const rendered = await call('POST', `/v1/config-templates/${templateId}/render`, { variables: { v: value }, dryRun: true });
      expect(rendered.json()).toMatchObject({ errors: [{ field: 'body.variables.v', rule: 'pattern' }] });
      const fine = await call('POST', `/v1/config-templates/${templateId}/render`, { variables: { v: 'a'.repeat(4000) }, dryRun: true });
      expect(fine.statusCode).toBe(200);
      // A longer value is refused as such, never cut to a prefix that would match.
      const long = await call('POST', `/v1/config-templates/${templateId}/validate`, { variables: { v: 'a'.repeat(50_000) } }, readerKey);
      expect(long.json()).toMatchObject({ valid: false, errors: [{ field: 'variables.v', rule: 'pattern.input_length' }] });
      const schema = await call(
        'POST',
        '/v1/config-templates/validate',
        { config: { host: value }, schema: [{ name: 'host', type: 'string', pattern: '^(\\w+\\s?)*$' }] },
        readerKey,
      );
      expect(schema.json()).toMatchObject({ valid: false, errors: [{ field: 'host', rule: 'pattern' }] });
      expect((await service.http.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });

    it('refuses at write time the patterns a linear-time engine cannot run, naming the field and rule; writes nothing (item 3)', async () => {
      const before = await service.eventStore.headPosition();
      const cases: [string, string][] = [
        ['(a)\\1', 'variable.pattern.unsupported'],
        ['(?=a)a', 'variable.pattern.unsupported'],
        ['(?<!a)b', 'variable.pattern.unsupported'],
        ['\\bword', 'variable.pattern.unsupported'],
        ['(a{1,1000}){1,1000}', 'variable.pattern.complexity'],
        ['[a-z]{1,999}[0-9]{1,999}x{1,999}', 'variable.pattern.complexity'],
        ['(', 'variable.pattern.syntax'],
      ];
      for (const [pattern, rule] of cases) {
        const body = { name: 'p', configType: 'configmap', variables: [{ name: 'v', type: 'string', pattern }], data: {} };
        await refusedNaming(await call('POST', '/v1/config-templates', body), rule, 'body.variables.0.pattern');
      }
      // Each pattern alone fits; together they would make one render do more than one pattern may.
      const many = Array.from({ length: 4 }, (_, i) => ({ name: `v${i}`, type: 'string', pattern: '^.{1,300}$' }));
      await refusedNaming(
        await call('POST', '/v1/config-templates', { name: 'many', configType: 'configmap', variables: many, data: {} }),
        'variable.pattern.complexity',
        'body.variables.3.pattern',
      );
      const schema = await call('POST', '/v1/config-templates/validate', {
        config: {},
        schema: [{ name: 'a', type: 'string', pattern: '(?<=x)y' }],
      });
      await refusedNaming(schema, 'variable.pattern.unsupported', 'body.schema.0.pattern');
      expect(await service.eventStore.headPosition()).toEqual(before);
    });

    it('refuses config keys no orchestrator can mount (. and .., over-long), naming the key; writes nothing (item 17)', async () => {
      const before = await service.eventStore.headPosition();
      for (const type of ['configmap', 'secret'])
        for (const key of ['.', '..', 'a/b', 'k'.repeat(101)]) {
          const response = await call('POST', '/v1/configs', { name: `keys-${type}`, type, data: { [key]: 'x' } });
          expect([type, key.slice(0, 8), response.statusCode]).toEqual([type, key.slice(0, 8), 400]);
          expect(JSON.stringify(response.json().errors)).toContain(`body.data.${key}`);
        }
      await refusedNaming(
        await call('POST', '/v1/configs', { name: 'env', type: 'environment', data: { ['E'.repeat(101)]: 'x' } }),
        'config.data.key',
        `body.data.${'E'.repeat(101)}`,
      );
      await refusedNaming(
        await call('POST', '/v1/config-templates', { name: 'dots', configType: 'configmap', data: { '..': 'x' } }),
        'config.data.key',
        'body.data...',
      );
      expect(await service.eventStore.headPosition()).toEqual(before);
      const fine = await call('POST', '/v1/configs', {
        name: 'dotted',
        type: 'configmap',
        data: { '...': 'x', '.env': 'y', ['k'.repeat(100)]: 'z' },
      });
      expect(fine.statusCode, fine.body).toBe(201);
    });

    it('reads variables named after Object.prototype members as plain names (item 18)', async () => {
      const names = PROTO_NAMES.filter((n) => n !== '__proto__' && n !== '__defineGetter__');
      const created = await call('POST', '/v1/config-templates', {
        name: 'proto',
        configType: 'configmap',
        variables: [...names.map((name) => ({ name, type: 'string' })), { name: '__proto__', type: 'string', default: 'dflt' }],
        data: Object.fromEntries([...names, '__proto__'].map((name) => [`K_${name}`, `<{{ ${name} }}>`])),
      });
      expect(created.statusCode, created.body).toBe(201);
      const { templateId } = created.json();
      const empty = await call('POST', `/v1/config-templates/${templateId}/render`, { variables: {}, dryRun: true });
      expect(empty.statusCode, empty.body).toBe(200);
      expect(empty.json().data).toEqual({ ...Object.fromEntries(names.map((n) => [`K_${n}`, '<>'])), K___proto__: '<dflt>' });
      const given = await call('POST', `/v1/config-templates/${templateId}/render`, {
        variables: { constructor: 'c', toString: 't' },
        dryRun: true,
      });
      expect(given.json().data).toMatchObject({ K_constructor: '<c>', K_toString: '<t>', K_valueOf: '<>' });
      const validated = await call('POST', `/v1/config-templates/${templateId}/validate`, { variables: {} });
      expect(validated.json()).toEqual({ valid: true, errors: [], warnings: [] });
      // A schema path through an inherited member finds nothing there: `required` says so.
      const schema = await call('POST', '/v1/config-templates/validate', {
        config: { spec: {} },
        schema: [
          { name: 'spec.constructor', type: 'string', required: true },
          { name: 'spec.toString', type: 'string' },
        ],
      });
      expect(schema.json().errors).toEqual([expect.objectContaining({ field: 'spec.constructor', rule: 'required' })]);
    });

    it('never lets a secret’s values, or anything taken from them, into an answer, warning, error or event (item 8)', async () => {
      const secretTemplate = await call('POST', '/v1/config-templates', {
        name: 'secret-tpl',
        configType: 'secret',
        variables: [
          { name: 'image', type: 'string', required: true },
          { name: 'spec', type: 'string', required: true },
          { name: 'token', type: 'string', required: true, pattern: '^[A-Za-z0-9]+$' },
        ],
        data: { IMAGE: '{{ image }}:latest', SPEC: '{{ spec }}', TOKEN: '{{ token }}', 'bad key': 'x' },
      });
      // A key with a space cannot be a template's key: the template is refused, and says nothing secret.
      expect(secretTemplate.statusCode).toBe(400);
      const template = await call('POST', '/v1/config-templates', {
        name: 'secret-tpl',
        configType: 'secret',
        variables: [
          { name: 'image', type: 'string', required: true },
          { name: 'spec', type: 'string', required: true },
          { name: 'token', type: 'string', required: true, pattern: '^[A-Za-z0-9]+$' },
        ],
        data: { IMAGE: '{{ image }}:latest', SPEC: '{{ spec }}', TOKEN: '{{ token }}' },
      });
      expect(template.statusCode, template.body).toBe(201);
      const { templateId } = template.json();
      const plain = (await call('POST', '/v1/configs', { name: 'plain-target', type: 'configmap', data: {} })).json();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.stringMatching(/^[a-z][a-z0-9]{11,30}$/),
          fc.stringMatching(/^[A-Za-z0-9]{12,24}$/),
          async (secret, envName) => {
            run += 1;
            const before = await service.eventStore.headPosition();
            const spec = JSON.stringify({
              image: `${secret}/app`,
              privileged: true,
              env: { [`${envName}_PASSWORD`]: secret },
              [secret]: { image: `registry/${secret}` },
            });
            const variables = { image: `registry.example/${secret}`, spec, token: secret };
            const answers = [
              await call('POST', `/v1/config-templates/${templateId}/render`, { variables, dryRun: true }),
              await call('POST', `/v1/config-templates/${templateId}/validate`, { variables }, readerKey),
              await call('POST', `/v1/config-templates/${templateId}/validate`, { variables: { ...variables, token: `${secret}!` } }),
              await call('POST', `/v1/config-templates/${templateId}/render`, {
                variables: { ...variables, token: `${secret}!` },
                name: 'x',
              }),
              await call('POST', `/v1/config-templates/${templateId}/render`, { variables, name: `rendered-${run}` }),
              await call('POST', `/v1/config-templates/${templateId}/render`, { variables, configId: plain.configId }),
              await call('POST', '/v1/config-templates/validate', {
                config: { type: 'secret', data: { SPEC: spec, IMAGE: `${secret}:latest` } },
              }),
              await call('POST', '/v1/config-templates/validate', { config: { type: 'secret', data: { SPEC: JSON.parse(spec) } } }),
              await call('POST', '/v1/configs', { name: `direct-${run}`, type: 'secret', data: { IMAGE: `${secret}:latest`, SPEC: spec } }),
            ];
            const created = answers[4]!.json();
            expect(answers[4]!.statusCode, answers[4]!.body).toBe(201);
            answers.push(await call('POST', `/v1/config-templates/${templateId}/render`, { variables, configId: created.configId }));
            answers.push(
              await call('PATCH', `/v1/configs/${created.configId}`, { data: { IMAGE: `${secret}:latest`, 'bad key': secret } }),
            );
            answers.push(await call('GET', `/v1/configs/${created.configId}?minPosition=${answers[9]!.json().position}`));
            answers.push(await call('GET', `/v1/configs/${created.configId}/versions`));
            // The warnings are there, named by key and rule only.
            expect(
              answers[0]!
                .json()
                .warnings.map((w: { field: string; rule: string }) => `${w.field}:${w.rule}`)
                .sort(),
            ).toEqual([
              'data.IMAGE:image.floating_tag',
              'data.SPEC:image.floating_tag',
              'data.SPEC:resources.missing_limits',
              'data.SPEC:security.privileged',
            ]);
            expect(answers[5]!.json()).toMatchObject({ rule: 'config.type.mismatch', errors: [{ field: 'body.configId' }] });
            expect(answers[9]!.statusCode).toBe(200);
            for (const answer of answers) {
              expect(answer.statusCode).toBeLessThan(500);
              expect(answer.body).not.toContain(secret);
              expect(answer.body).not.toContain(envName);
            }
            for (const event of await eventsAfter(before)) {
              const text = JSON.stringify(event, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
              expect([event.type, text.includes(secret) || text.includes(envName)]).toEqual([event.type, false]);
            }
          },
        ),
        { numRuns: 5, endOnFailure: true },
      );
    }, 300_000);
  });
}

e2e('config hardening on embedded PGlite', async () => ({}));

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] config hardening on PostgreSQL: ${postgres.skipReason}`);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  e2e('config hardening on PostgreSQL', async () => ({ DATABASE_URL: await createTestDatabase(postgres.url!) }));
});
