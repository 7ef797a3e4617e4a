// Process managers react to events with jobs and commands. They run on the same checkpointed, leased
// subscription as projections, so each event is handled by one instance and the checkpoint moves only
// once the batch's work is recorded. Handlers must be idempotent: jobs carry ids derived from the event.
// `handle` runs inside the checkpoint's transaction, so it only decides and enqueues; side effects and
// follow-up commands happen in the job's worker (with `processCommandContext`, so they are idempotent too).
import type { RecordedEvent } from '../ports/event-store.js';
import type { AllFilter } from '../ports/event-store.js';
import type { JsonObject } from '../domain/json.js';
import type { CommandContext } from '../commands/handle-command.js';
import { jobCommandContext } from '../commands/job-command-context.js';
import type { EnqueueOptions } from '../ports/job-queue.js';

export interface ProcessContext {
  /** Enqueues a job whose id is derived from this event (plus `key` when one event starts several jobs). */
  enqueue(queue: string, payload: JsonObject, options?: EnqueueOptions & { key?: string }): Promise<void>;
  /** Metadata for a command issued because of this event: idempotent per (process, event, key). */
  commandContext(key?: string): CommandContext;
}

export interface ProcessManager {
  /** Lowercase letters, digits and underscores; names its checkpoint (`process_<name>`). */
  readonly name: string;
  readonly filter?: AllFilter;
  handle(event: RecordedEvent, context: ProcessContext): Promise<void>;
}

export const processJobId = (processName: string, event: RecordedEvent, key = '') => `${processName}.${event.id}${key ? `.${key}` : ''}`;

export function processCommandContext(processName: string, event: RecordedEvent, key = ''): CommandContext {
  return jobCommandContext({
    tenantId: String(event.metadata.tenantId ?? ''),
    process: processName,
    key: `${event.id}:${key}`,
    correlationId: String(event.metadata.correlationId ?? event.id),
    causationId: event.id,
  });
}
