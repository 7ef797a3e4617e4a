// Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"): a key belongs to the caller's
// tenant, the caller and the route. Two tenants (or two users) sending the same key send two commands;
// one caller sending one key with another request on the same route gets 422 `idempotency.key_reused`,
// checked before the command runs, so nothing is written.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { IdempotencyRecordStore } from '../ports/idempotency-records.js';
import { deterministicUuid } from '../commands/deterministic-uuid.js';
import { principalOf } from './auth.js';
import { HttpProblem } from './problem.js';

const headerKey = (request: FastifyRequest): string | undefined => {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
};

/** The command id an Idempotency-Key stands for, or undefined without a key. NUL separates the parts:
 * none of them can contain it (tenant ids, route patterns and keys are restricted). */
export function scopedCommandId(request: FastifyRequest): string | undefined {
  const key = headerKey(request);
  if (key === undefined) return undefined;
  const principal = principalOf(request);
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  return deterministicUuid('idempotency-key', [principal.tenantId, principal.userId, route, key].join('\u0000'));
}

/** JSON with object keys sorted, so that two equal requests give one text whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A digest of what makes a request this request: its path parameters, query and body (as validated). */
export function requestFingerprint(request: FastifyRequest): string {
  const text = canonicalJson({ params: request.params ?? {}, query: request.query ?? {}, body: request.body ?? null });
  return createHash('sha256').update(text).digest('base64url');
}

async function idempotencyPlugin(app: FastifyInstance, options: { records: IdempotencyRecordStore }): Promise<void> {
  // preHandler: after authentication and validation (the body is bounded and parsed), before the handler.
  app.addHook('preHandler', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD' || !request.principal) return;
    const commandId = scopedCommandId(request);
    if (commandId === undefined) return;
    if ((await options.records.bind(commandId, requestFingerprint(request))) === 'other') {
      throw new HttpProblem(
        422,
        'idempotency.key_reused',
        'this Idempotency-Key was already used for another request on this route; use a new key for a new request',
        {
          errors: [
            {
              field: 'headers.idempotency-key',
              rule: 'idempotency.key_reused',
              message: 'already used with other parameters or another body',
            },
          ],
        },
      );
    }
  });
}

export const idempotencyKeys = fp(idempotencyPlugin, { name: 'kyo-idempotency-keys' });
