// Every error leaves as application/problem+json (RFC 9457). Clients get the rule and the field at fault,
// never a stack trace; a 500 is logged with the request id and answered with that id only.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { IdempotencyConflictError, InvalidEventError, StreamNotFoundError, WrongExpectedRevisionError } from '../ports/event-store.js';
import { RuleViolation, RuleViolations, fieldLocation, type RuleViolationKind } from '../domain/rule-violation.js';
import { UnknownKeyError } from '../ports/secret-keyring.js';
import { PartialReplayError, ProjectionTimeoutError, RebuildInProgressError, UnknownProjectionError } from '../projections/projector.js';

export interface FieldError {
  /** Where: `body.name`, `query.limit`, `params.id`, `headers.if-match`. */
  readonly field: string;
  /** Which rule: a zod issue code (`too_small`, `invalid_type`, `unrecognized_keys`) or a domain rule id. */
  readonly rule: string;
  readonly message: string;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

/** Thrown by route code for an HTTP-level refusal that is not a domain rule (bad header, precondition). */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly rule: string,
    message: string,
    readonly extensions: Record<string, unknown> & { errors?: readonly FieldError[] } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const STATUS_OF_KIND: Record<RuleViolationKind, number> = {
  invalid: 400,
  conflict: 409,
  not_found: 404,
  forbidden: 403,
  too_many: 429,
  unprocessable: 422,
};

const problemType = (rule: string) => `https://kyo.dev/problems/${rule}`;

export function sendProblem(
  reply: FastifyReply,
  status: number,
  rule: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): FastifyReply {
  const body: Problem = {
    type: problemType(rule),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: reply.request.url,
    requestId: reply.request.id,
    ...extensions,
  };
  return reply.code(status).type('application/problem+json').send(body);
}

function validationErrors(error: FastifyError): FieldError[] {
  const where = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
  return (error.validation ?? []).flatMap((issue) => {
    const path = issue.instancePath.split('/').filter(Boolean);
    const base = [where, ...path].join('.');
    const unknownKeys = (issue.params as { keys?: unknown }).keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(unknownKeys)) {
      return unknownKeys.map((key) => ({ field: `${base}.${String(key)}`, rule: 'unrecognized_keys', message: 'unknown field' }));
    }
    return [{ field: base, rule: issue.keyword, message: issue.message ?? 'invalid' }];
  });
}

/** Maps framework, domain and store errors to problems. Unknown errors are real faults: 500, logged. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = validationErrors(error as FastifyError);
    return sendProblem(reply, 400, 'validation', `${errors.length} field(s) failed validation`, { errors });
  }
  if (error instanceof HttpProblem) {
    reply.headers(error.headers);
    return sendProblem(reply, error.status, error.rule, error.message, error.extensions);
  }
  if (error instanceof RuleViolation) {
    // Several at once (a whole spec checked): every one is listed.
    const all = error instanceof RuleViolations ? error.violations : [error];
    const errors = all.some((v) => v.field)
      ? all.map((v) => ({ field: v.field ? fieldLocation(v.field) : 'body', rule: v.rule, message: v.message }))
      : undefined;
    return sendProblem(reply, STATUS_OF_KIND[error.kind], error.rule, error.message, { rule: error.rule, ...(errors ? { errors } : {}) });
  }
  if (error instanceof WrongExpectedRevisionError) {
    const current = error.actual === 'no_stream' ? null : Number(error.actual);
    if (current !== null) reply.header('etag', `"${current}"`);
    return sendProblem(reply, 409, 'concurrency', 'the resource changed since you read it; reload and retry', {
      currentRevision: current,
      expectedRevision: String(error.expected),
    });
  }
  if (error instanceof IdempotencyConflictError) {
    return sendProblem(reply, 409, 'idempotency', 'this command id was already used for a different change');
  }
  if (error instanceof StreamNotFoundError) return sendProblem(reply, 404, 'not_found', 'resource not found');
  // The edge refuses such text first; this catches a value built by the service itself (never a 500).
  if (error instanceof InvalidEventError) {
    return sendProblem(reply, 400, 'text.characters', 'a value holds a NUL character or a lone surrogate, which cannot be stored', {
      errors: [{ field: error.path, rule: 'text.characters', message: 'holds a NUL character or a lone surrogate' }],
    });
  }
  if (error instanceof ProjectionTimeoutError) {
    reply.header('retry-after', '1');
    return sendProblem(
      reply,
      503,
      'read_model.lagging',
      `the read model has not reached position minPosition yet (waited ${error.timeoutMs} ms); retry shortly`,
      {
        lagging: error.lagging,
      },
    );
  }
  // A secret sealed under a key-encryption key this instance no longer has: the operator's fix (set it in
  // SECRETS_KEY_PREVIOUS), not the client's; the key id is a digest, never the key.
  if (error instanceof UnknownKeyError) {
    reply.header('retry-after', '60');
    return sendProblem(reply, 503, 'secrets.key_unavailable', `${error.message}; ask the operator to configure it`, {
      rule: 'secrets.key_unavailable',
    });
  }
  if (error instanceof RebuildInProgressError) return sendProblem(reply, 409, 'rebuild.in_progress', error.message);
  if (error instanceof UnknownProjectionError) return sendProblem(reply, 404, 'projection.unknown', error.message);
  if (error instanceof PartialReplayError) {
    return sendProblem(reply, 400, 'replay.partial', error.message, {
      errors: [{ field: 'body.from', rule: 'replay.partial', message: 'only a replay from position 0 is possible; omit from' }],
    });
  }

  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 413, 'body.too_large', fastifyError.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 415, 'body.media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 400, 'body.empty', 'the JSON body is empty', {
        errors: [{ field: 'body', rule: 'required', message: 'a JSON body is required' }],
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendProblem(reply, 400, 'body.malformed_json', 'the body is not valid JSON', {
        errors: [{ field: 'body', rule: 'json', message: fastifyError.message }],
      });
  }
  if (error instanceof SyntaxError) return sendProblem(reply, 400, 'body.malformed_json', 'the body is not valid JSON');
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return sendProblem(reply, status, fastifyError.code ? fastifyError.code.toLowerCase() : 'client_error', fastifyError.message);
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, 500, 'internal', `an internal error occurred; quote request id ${request.id}`);
}

/**
 * Errors Fastify meets before routing (a path that is not valid percent-encoded UTF-8, such as an encoded lone
 * surrogate or NUL-free garbage, or a path parameter past the router's length): problem+json like every other
 * refusal, never Fastify's own body. Passed to Fastify as `frameworkErrors`.
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('x-request-id', request.id);
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return sendProblem(reply, 400, 'url.encoding', 'the path is not valid percent-encoded UTF-8 text', {
        errors: [
          { field: 'path', rule: 'url.encoding', message: 'holds a byte sequence that is not UTF-8 (e.g. an encoded lone surrogate)' },
        ],
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendProblem(reply, 414, 'url.param_too_long', 'a path parameter is longer than the router accepts', {
        errors: [{ field: 'path', rule: 'url.param_too_long', message: 'a path parameter is too long' }],
      });
    default:
      return handleError(error, request, reply);
  }
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'route.not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
