// The restore process manager and its worker. RestoreRequested enqueues one job (its id derived from the
// event, so a re-delivered event enqueues nothing new); the worker runs the restore as one run.
//
// A run is all or nothing (the bulk load is one transaction plus a marker, see ports/restore-target.ts):
// a service killed mid-run leaves the target empty with the marker, the job's lease runs out, and the
// next attempt starts a new run over into the same target. Each run is recorded (RestoreRunStarted), so a
// restore that keeps dying fails after MAX_RESTORE_RUNS with the reason, instead of `running` forever: the
// job gets one attempt more than there are runs, and that last attempt only records the failure.
import { BackupChainError, BackupIntegrityError, type BackupKey } from '../../commands/backups/index.js';
import { deterministicUuid } from '../../commands/deterministic-uuid.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import { restoreBackup } from '../../commands/restores/restore-backup.js';
import { loadRestore, runRestoreCommand } from '../../commands/restores/restore-commands.js';
import type { JsonObject } from '../../domain/json.js';
import { RESTORE_CATEGORY, type RestoreCommand, type RestoreTargetSpec } from '../../domain/restores/restore-aggregate.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { formatPosition, parsePosition } from '../../ports/event-store.js';
import type { JobHandler } from '../../ports/job-queue.js';
import { RestoreRangeError, RestoreTargetNotEmptyError, type RestoreTarget } from '../../ports/restore-target.js';
import type { ProcessManager } from '../process-manager.js';

export const RESTORE_QUEUE = 'restores';
export const MAX_RESTORE_RUNS = 3;

export const restoreProcessManager: ProcessManager = {
  name: 'restores',
  filter: { categories: [RESTORE_CATEGORY], eventTypes: ['RestoreRequested'] },
  async handle(event, context) {
    const payload: JsonObject = {
      restoreId: String(event.data.restoreId),
      tenantId: String(event.metadata.tenantId ?? ''),
      correlationId: String(event.metadata.correlationId ?? event.id),
    };
    // The tenant is the job's group: its restores wait their turn (LONG_JOBS_PER_TENANT), others' go on.
    await context.enqueue(RESTORE_QUEUE, payload, { attempts: MAX_RESTORE_RUNS + 1, group: payload.tenantId as string });
  },
};

export interface RestoreRunnerDeps {
  readonly commands: CommandDeps;
  readonly storage: BackupStorage;
  readonly key?: BackupKey;
  /** Opens the named target (a database, a data directory it locks); `close` releases it. */
  readonly openTarget: (target: RestoreTargetSpec) => Promise<RestoreTarget>;
  /** At most one RestoreProgressed per this many milliseconds (default 1000). */
  readonly progressEveryMs?: number;
  readonly maxRuns?: number;
}

/** Errors that another run cannot fix: fail at once, naming the field or the chunk. */
function permanent(error: unknown): { field: string | null; chunk: string | null } | undefined {
  if (error instanceof BackupIntegrityError) return { field: null, chunk: error.chunk };
  if (error instanceof RestoreRangeError) return { field: error.field, chunk: null };
  if (error instanceof RestoreTargetNotEmptyError) return { field: 'target', chunk: null };
  if (error instanceof BackupChainError) return { field: 'backupId', chunk: null };
  return undefined;
}

export function restoreWorker(deps: RestoreRunnerDeps): JobHandler {
  const maxRuns = deps.maxRuns ?? MAX_RESTORE_RUNS;
  return async (job) => {
    const { restoreId, tenantId, correlationId } = job.payload as Record<string, string>;
    const context = (step: string): CommandContext => ({
      tenantId: tenantId!,
      userId: 'process:restores',
      commandId: deterministicUuid(`restore-run:${restoreId}`, step),
      correlationId: correlationId!,
      causationId: restoreId!,
    });
    const record = (step: string, command: RestoreCommand) => runRestoreCommand(deps.commands, context(step), restoreId!, command);
    const fail = (reason: string, details: { field: string | null; chunk: string | null } = { field: null, chunk: null }) =>
      record('fail', { type: 'FailRestore', data: { reason, ...details, finishedAt: deps.commands.clock().toISOString() } });

    const loaded = await loadRestore(deps.commands, tenantId!, restoreId!);
    if (loaded.state.status !== 'running') return;
    if (loaded.state.runs >= maxRuns) {
      await fail(`the restore was interrupted ${loaded.state.runs} times (the service stopped during each run); the target is left empty`);
      return;
    }
    const requested = loaded.events.find((event) => event.type === 'RestoreRequested')!.data as {
      backupId: string;
      target: RestoreTargetSpec;
      toPosition: string | null;
      toTime: string | null;
    };
    const run = loaded.state.runs + 1;
    await record(`run:${run}`, { type: 'StartRun', data: { startedAt: deps.commands.clock().toISOString() } });

    // Progress is recorded one append after another, at most once per interval, never blocking the load.
    let progress: Promise<unknown> = Promise.resolve();
    let lastRecorded = 0;
    const every = deps.progressEveryMs ?? 1000;
    let target: RestoreTarget | undefined;
    try {
      target = await deps.openTarget(requested.target);
      const result = await restoreBackup(
        { storage: deps.storage, ...(deps.key ? { key: deps.key } : {}), clock: deps.commands.clock },
        target,
        {
          restoreId: restoreId!,
          backupId: requested.backupId,
          ...(requested.toPosition ? { toPosition: parsePosition(requested.toPosition)! } : {}),
          ...(requested.toTime ? { toTime: new Date(requested.toTime) } : {}),
        },
        ({ events, totalEvents, lastPosition }) => {
          if (events > 0 && Date.now() - lastRecorded < every) return;
          lastRecorded = Date.now();
          const data = { run, events, totalEvents, lastPosition: lastPosition ? formatPosition(lastPosition) : null };
          progress = progress.then(() => record(`progress:${run}:${events}`, { type: 'RecordProgress', data }).catch(() => undefined));
        },
      );
      await progress;
      await record('complete', {
        type: 'CompleteRestore',
        data: {
          events: result.events,
          streams: result.streams,
          chain: [...result.chain],
          firstPosition: result.firstPosition ? formatPosition(result.firstPosition) : null,
          lastPosition: result.lastPosition ? formatPosition(result.lastPosition) : null,
          finishedAt: deps.commands.clock().toISOString(),
          parts: { restored: [...result.parts.restored], notRestored: result.parts.notRestored.map((entry) => ({ ...entry })) },
          ...(result.apiKeys === undefined ? {} : { apiKeys: result.apiKeys }),
        },
      });
    } catch (error) {
      await progress;
      const details = permanent(error);
      const reason = error instanceof Error ? error.message : String(error);
      // Another attempt may pass (the target's server down a moment): the job is retried, a new run starts.
      if (!details && job.attempt < maxRuns) throw error;
      await fail(reason, details);
    } finally {
      await target?.close().catch(() => undefined);
    }
  };
}
