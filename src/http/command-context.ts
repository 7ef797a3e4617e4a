import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommandContext } from '../commands/handle-command.js';
import { formatPosition, type Position } from '../ports/event-store.js';
import { principalOf } from './auth.js';
import { scopedCommandId } from './idempotency.js';
import { setEtag } from './preconditions.js';

/** The metadata a command carries, from the authenticated caller and the request's headers. The command id
 * comes from the Idempotency-Key scoped to (tenant, principal, route): the raw key would let one tenant's
 * key answer another tenant's command on a shared stream. */
export function commandContextOf(request: FastifyRequest): CommandContext {
  const principal = principalOf(request);
  const correlation = request.headers['x-correlation-id'];
  return {
    tenantId: principal.tenantId,
    userId: principal.userId,
    commandId: scopedCommandId(request) ?? randomUUID(),
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
