// The OpenAPI document at /docs/json is what generated clients and fuzzers read: it must be a valid
// OpenAPI 3 document whose every $ref resolves, every route must document the errors it can answer (as
// problem+json), and the documented success codes must be the ones the routes send.
import SwaggerParser from '@apidevtools/swagger-parser';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { CREATE_ITEM_FIELDS } from '../../src/domain/batches/index.js';
import { startService, type Service } from '../../src/service.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Operation = {
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
};

/** Every `$ref` string anywhere in the document, with where it was found. */
function refsIn(value: Json, path = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => refsIn(item, `${path}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string'
      ? [{ ref: child, at: path }]
      : refsIn(child, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`),
  );
}

function resolvePointer(document: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

describe('the OpenAPI document', () => {
  let service: Service;
  let dataDir: string;
  let document: Json & { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } };
  let key: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kyo-openapi-'));
    service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), pino({ level: 'silent' }), {
      defaultMetrics: false,
    });
    key = readFileSync(join(dataDir, 'bootstrap-api-key'), 'utf8').trim();
    const response = await service.http.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    document = response.json();
  });

  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );

  it('resolves every $ref inside the document', () => {
    const dangling = refsIn(document).filter(({ ref }) => resolvePointer(document, ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it('validates as OpenAPI 3 (swagger-parser, refs dereferenced)', async () => {
    const copy = structuredClone(document) as object;
    const validated = (await SwaggerParser.validate(copy as never)) as { openapi: string };
    expect(validated.openapi).toMatch(/^3\./);
  });

  it('documents the JSON value type of template content as a resolvable recursive component', () => {
    const create = document.paths['/v1/templates']!.post!;
    const refs = refsIn(create.requestBody as Json).map(({ ref }) => ref);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(resolvePointer(document, ref)).toBeDefined();
  });

  it("documents a batch's items per operation; a create item's fields are the domain's and its templateId is optional", () => {
    type Schema = { properties?: Record<string, Json>; required?: string[]; oneOf?: Schema[]; items?: { $ref?: string } };
    const body = (document.paths['/v1/batches']!.post!.requestBody as { content: Record<string, { schema: Schema }> }).content[
      'application/json'
    ]!.schema;
    const perOperation = Object.fromEntries(
      (body.oneOf ?? []).map((branch) => [
        (branch.properties!.operation as { enum: string[] }).enum[0],
        (branch.properties!.items as Schema).items!.$ref,
      ]),
    );
    expect(perOperation).toEqual({
      create: '#/components/schemas/BatchCreateItem',
      update: '#/components/schemas/BatchUpdateItem',
      changeParent: '#/components/schemas/BatchChangeParentItem',
      archive: '#/components/schemas/BatchTargetItem',
      delete: '#/components/schemas/BatchTargetItem',
    });
    const create = resolvePointer(document, perOperation.create!) as Schema;
    expect(Object.keys(create.properties!).sort()).toEqual([...CREATE_ITEM_FIELDS].sort());
    expect(create.required ?? []).not.toContain('templateId');
    expect((resolvePointer(document, perOperation.update!) as Schema).required).toEqual(['templateId']);
  });

  it('documents problem+json error answers on every route, with one shared Problem schema', () => {
    const problem = document.components.schemas.Problem as { properties: Record<string, Json> };
    expect(Object.keys(problem.properties)).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'errors']));
    for (const { path, method, operation } of operations()) {
      expect([path, method, Object.keys(operation.responses).some((status) => status.startsWith('2'))]).toEqual([path, method, true]);
      const errors = Object.keys(operation.responses).filter((status) => /^[45]\d\d$/.test(status));
      expect([path, method, errors]).toEqual([path, method, expect.arrayContaining(['500'])]);
      for (const status of errors) {
        if (path === '/ready' && status === '503') continue; // the readiness report itself
        const content = operation.responses[status]!.content ?? {};
        expect([path, method, status, Object.keys(content)]).toEqual([path, method, status, ['application/problem+json']]);
        expect(content['application/problem+json']!.schema).toEqual({ $ref: '#/components/schemas/Problem' });
      }
    }
  });

  it('derives the error statuses from what a route does', () => {
    const statuses = (path: string, method: string) => Object.keys(document.paths[path]![method]!.responses);
    // Authenticated: 401, 403 (it needs a permission), 429 (tenant rate). Body: 400, 413, 415. Command: 404, 409, 422.
    expect(statuses('/v1/templates', 'post')).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '500']),
    );
    // A query with minPosition: 503 read_model.lagging; with an id: 404.
    expect(statuses('/v1/templates/{templateId}', 'get')).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '429', '500', '503']),
    );
    expect(statuses('/v1/categories', 'get')).not.toContain('404');
    // Public routes need no credential.
    expect(statuses('/health', 'get')).not.toContain('401');
    expect(statuses('/v1/admin/projections/{name}/rebuild', 'post')).toEqual(expect.arrayContaining(['202', '404', '409']));
  });

  it('documents the success status each route really answers with (DELETE /v1/api-keys/{keyId} is 204)', async () => {
    const revoke = document.paths['/v1/api-keys/{keyId}']!.delete!;
    expect(Object.keys(revoke.responses).filter((s) => s.startsWith('2'))).toEqual(['204']);
    expect(revoke.responses['204']!.content).toBeUndefined();
    const created = await service.http.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${key}` },
      payload: { name: 'to revoke', permissions: ['templates:read'] },
    });
    const answered = await service.http.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${created.json().keyId}`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answered.statusCode).toBe(204);
  });
});
