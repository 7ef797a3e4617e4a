// Optimistic concurrency over HTTP: the ETag is the aggregate's stream revision; If-Match carries it back.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpProblem } from './problem.js';

export const etagOf = (revision: bigint | number) => `"${revision}"`;

export function setEtag(reply: FastifyReply, revision: bigint | number): void {
  reply.header('etag', etagOf(revision));
}

/**
 * The revision an If-Match header demands, or undefined without the header. Only one strong ETag of our
 * own shape is meaningful; `*` means "any existing version" and is treated as no precondition.
 */
export function expectedRevisionFrom(request: FastifyRequest): bigint | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*"(\d{1,19})"\s*$/.exec(header);
  if (!match) {
    throw new HttpProblem(400, 'if_match.format', 'If-Match must be one ETag as returned by this API, e.g. "3"', {
      errors: [{ field: 'headers.if-match', rule: 'etag.format', message: 'expected a quoted revision number such as "3"' }],
    });
  }
  return BigInt(match[1]!);
}

/** Headers every command accepts; declared in each command route's schema so they appear in OpenAPI. */
export const commandHeaders = z.object({
  'if-match': z.string().max(100).optional().describe('ETag of the version you read; the command fails with 409 if it changed'),
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{8,128}$/, 'must be 8–128 characters of letters, digits, _ . : -')
    .optional()
    .describe(
      'Names the command for you on this route: the same request again returns the first result and appends nothing; the same key with another request is 422 idempotency.key_reused',
    ),
  'x-correlation-id': z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/)
    .optional(),
});
