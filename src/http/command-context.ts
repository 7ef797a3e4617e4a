import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommandContext } from '../commands/handle-command.js';
import { formatPosition, type Position } from '../domain/event-store.js';
import { principalOf } from './auth.js';
import { setEtag } from './preconditions.js';

/** The metadata a command carries, from the authenticated caller and the request's headers. */
export function commandContextOf(request: FastifyRequest): CommandContext {
  const principal = principalOf(request);
  const key = request.headers['idempotency-key'];
  const correlation = request.headers['x-correlation-id'];
  return {
    tenantId: principal.tenantId,
    userId: principal.userId,
    commandId: typeof key === 'string' ? key : randomUUID(),
    correlationId: typeof correlation === 'string' ? correlation : request.id,
  };
}

/** Every command response: the new revision (also as ETag) and the position for read-your-writes. */
export function commandAccepted(reply: FastifyReply, result: { revision: bigint; position: Position; idempotent: boolean }) {
  setEtag(reply, result.revision);
  const position = formatPosition(result.position);
  reply.header('x-event-position', position);
  if (result.idempotent) reply.header('idempotent-replay', 'true');
  return { revision: Number(result.revision), position };
}
