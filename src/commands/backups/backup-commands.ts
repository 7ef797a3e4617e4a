// Backup commands: a user or a policy requests a backup; the backup worker, validation and restore drills
// record their steps on the backup's stream through the same decider.
import {
  backupDecider,
  backupStreamId,
  type BackupCommand,
  type BackupEvent,
  type BackupScope,
  type BackupState,
  type BackupType,
} from '../../domain/backups/index.js';
import type { Position } from '../../ports/event-store.js';
import { deterministicUuid } from '../deterministic-uuid.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandDeps, type CommandResult } from '../handle-command.js';

export type BackupCommandResult = CommandResult<BackupState, BackupEvent>;

export interface RequestBackupInput {
  readonly name: string;
  readonly type: BackupType;
  /** `{}`: every tenant (the caller must hold the platform permission, checked by the route). */
  readonly scope: BackupScope;
  /** Continue the newest published backup of the same type and scope (falls back to full when none). */
  readonly incremental?: boolean;
  readonly policyId?: string;
}

export interface RequestedBackup {
  readonly backupId: string;
  readonly position: Position;
  readonly revision: bigint;
  readonly idempotent: boolean;
}

/** The id a request gets: derived from the command id, so a retried request names the same backup. */
export const backupIdFor = (context: Pick<CommandContext, 'tenantId' | 'commandId'>) =>
  deterministicUuid('backup', `${context.tenantId}:${context.commandId}`);

/** Starts a backup: the process manager picks up BackupRequested and runs it on the backup queue. */
export async function requestBackup(deps: CommandDeps, context: CommandContext, input: RequestBackupInput): Promise<RequestedBackup> {
  const backupId = backupIdFor(context);
  const result = await handleCommand(deps, backupDecider, {
    streamId: backupStreamId(backupId),
    context,
    expectNew: true,
    command: {
      type: 'RequestBackup',
      data: {
        backupId,
        name: input.name,
        backupType: input.type,
        scope: input.scope.tenantId === undefined ? {} : { tenantId: input.scope.tenantId },
        incremental: input.incremental ?? false,
        policyId: input.policyId ?? null,
        requestedBy: context.userId,
      },
    },
  });
  return { backupId, position: result.position, revision: result.revision, idempotent: result.idempotent };
}

/** Any other step on a backup's stream (the worker's progress, delete, validation, drills). */
export function runBackupCommand(
  deps: CommandDeps,
  context: CommandContext,
  backupId: string,
  command: BackupCommand,
  options: { expectedRevision?: bigint } = {},
): Promise<BackupCommandResult> {
  return handleCommand(deps, backupDecider, {
    streamId: backupStreamId(backupId),
    context,
    command,
    ...(options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision }),
  });
}

/** The backup's folded state; another tenant's backup reads as `status: 'none'` never: it throws not found. */
export async function loadBackup(deps: CommandDeps, tenantId: string, backupId: string) {
  return loadAggregate(deps, backupDecider, backupStreamId(backupId), { tenantId });
}

export const startRestoreDrill = (deps: CommandDeps, context: CommandContext, backupId: string, drillId: string) =>
  runBackupCommand(deps, context, backupId, { type: 'StartRestoreDrill', data: { drillId, startedAt: deps.clock().toISOString() } });
