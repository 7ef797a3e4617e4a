// Restore commands: a caller requests a restore of a backup into an empty target; the restore worker
// records each run, its progress and the outcome on the restore's stream through the same decider.
// checkRestoreTarget... checks the asked end against the backup's chain before anything is accepted, so a
// bad `toPosition` / `toTime` is a 400 naming the field, never a restore that fails later.
import type { BackupManifest } from '../../domain/backups/index.js';
import {
  restoreDecider,
  restoreStreamId,
  type RestoreCommand,
  type RestoreEvent,
  type RestoreState,
  type RestoreTargetSpec,
} from '../../domain/restores/restore-aggregate.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { comparePositions, formatPosition, parsePosition, type Position } from '../../ports/event-store.js';
import { RestoreRangeError } from '../../ports/restore-target.js';
import { BackupIntegrityError, readBackupEventChunks, resolveBackupChain, type BackupKey } from '../backups/index.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult } from '../handle-command.js';
import { checkRestoreRange } from './restore-backup.js';

export type RestoreCommandResult = CommandResult<RestoreState, RestoreEvent>;

export interface RequestRestoreInput {
  readonly backupId: string;
  readonly backupTenantId: string | null;
  readonly target: RestoreTargetSpec;
  readonly toPosition?: Position;
  readonly toTime?: Date;
}

/** The id a request gets: derived from the command id, so a retried request names the same restore. */
export const restoreIdFor = (context: Pick<CommandContext, 'tenantId' | 'commandId'>) =>
  deterministicUuid('restore', `${context.tenantId}:${context.commandId}`);

/** Records RestoreRequested; the restore process manager enqueues the job that runs it. */
export async function requestRestore(deps: CommandDeps, context: CommandContext, input: RequestRestoreInput) {
  const restoreId = restoreIdFor(context);
  const result = await handleCommand(deps, restoreDecider, {
    streamId: restoreStreamId(restoreId),
    context,
    expectNew: true,
    command: {
      type: 'RequestRestore',
      data: {
        restoreId,
        backupId: input.backupId,
        backupTenantId: input.backupTenantId,
        target: input.target,
        toPosition: input.toPosition ? formatPosition(input.toPosition) : null,
        toTime: input.toTime ? input.toTime.toISOString() : null,
        requestedBy: context.userId,
        requestedAt: deps.clock().toISOString(),
      },
    },
  });
  return { restoreId, result };
}

export const runRestoreCommand = (deps: CommandDeps, context: CommandContext, restoreId: string, command: RestoreCommand) =>
  handleCommand(deps, restoreDecider, { streamId: restoreStreamId(restoreId), context, command });

export const loadRestore = (deps: CommandDeps, tenantId: string, restoreId: string) =>
  loadAggregate(deps, restoreDecider, restoreStreamId(restoreId), { tenantId });

/**
 * The backup's chain, with the asked end checked against it: after the end or before the first event
 * (position), in the future or before the first event (time). Throws BackupChainError (missing backup or
 * parent) or RestoreRangeError (naming the field). An altered first chunk is left for the run to report.
 */
export async function checkRestoreRequest(
  storage: BackupStorage,
  key: BackupKey | undefined,
  request: { backupId: string; toPosition?: Position; toTime?: Date },
  now: Date,
): Promise<BackupManifest[]> {
  const chain = await resolveBackupChain(storage, request.backupId);
  checkRestoreRange(chain, { restoreId: '', ...request }, now);
  const first = chain.find((manifest) => manifest.eventCount > 0);
  const firstChunk = first?.chunks.find((chunk) => chunk.firstPosition);
  if (request.toPosition && firstChunk?.firstPosition) {
    const firstPosition = parsePosition(firstChunk.firstPosition)!;
    if (comparePositions(request.toPosition, firstPosition) < 0)
      throw new RestoreRangeError(
        'toPosition',
        `toPosition ${formatPosition(request.toPosition)} is before the backup's first event (${firstChunk.firstPosition})`,
      );
  }
  if (request.toTime && first) {
    const chunks = readBackupEventChunks(storage, first, key ? { key } : {});
    try {
      const next = await chunks.next();
      const recordedAt = next.done ? undefined : next.value.records[0]?.recordedAt;
      if (recordedAt && request.toTime.getTime() < Date.parse(recordedAt))
        throw new RestoreRangeError(
          'toTime',
          `toTime ${request.toTime.toISOString()} is before the backup's first event (recorded ${recordedAt})`,
        );
    } catch (error) {
      if (!(error instanceof BackupIntegrityError)) throw error;
    } finally {
      await chunks.return(undefined);
    }
  }
  return chain;
}
