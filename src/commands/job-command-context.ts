// The one way a job or process manager builds the context of a command it issues. The command id is the
// idempotency key (a retried job must derive the same one, or it acts twice), the user is the process
// (`process:<name>`) unless the job carries on a user's request, and correlation/causation tie the command
// to what started it. Lives in commands/ because command handlers (a tenant restore) use it too.
import { deterministicUuid } from './deterministic-uuid.js';
import type { CommandContext } from './handle-command.js';

/** The command id: a name-based UUID of `key` under `namespace` (default `process:<process>`), or an id as it is. */
export type JobCommandId = { readonly key: string; readonly namespace?: string } | { readonly commandId: string };

export type JobCommandInput = JobCommandId & {
  readonly tenantId: string;
  /** The process issuing the command; the user id is `process:<process>` unless `onBehalfOf` is given. */
  readonly process: string;
  /** The user whose request the job carries on (a restore, a drill): the events name them, not the process. */
  readonly onBehalfOf?: string;
  /** Default: the command id. */
  readonly correlationId?: string;
  readonly causationId?: string;
};

export function jobCommandContext(input: JobCommandInput): CommandContext {
  const commandId = 'commandId' in input ? input.commandId : deterministicUuid(input.namespace ?? `process:${input.process}`, input.key);
  return {
    tenantId: input.tenantId,
    userId: input.onBehalfOf ?? `process:${input.process}`,
    commandId,
    correlationId: input.correlationId ?? commandId,
    // Left out rather than undefined: a context spread over another must not erase its causation.
    ...(input.causationId === undefined ? {} : { causationId: input.causationId }),
  };
}
