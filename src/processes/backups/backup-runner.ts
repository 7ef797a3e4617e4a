// Runs one backup to its end: fixes the range (and the parent of an incremental), writes each item as
// chunks, publishes the manifest, records the outcome. Every step is an event on the backup's stream, so a
// run that dies resumes from the last recorded chunk. A storage or store error propagates (the job is
// retried, and resumes); on the last attempt the unfinished items fail, and a backup with no item done
// fails whole: its chunks are removed and no manifest is ever published, so nothing incomplete is listed.
import { createHash } from 'node:crypto';
import {
  BACKUP_FORMAT_VERSION,
  chunkKey,
  itemsOfType,
  manifestKey,
  type BackupCommand,
  type BackupItem,
  type BackupManifest,
  type BackupState,
} from '../../domain/backups/index.js';
import {
  encryptionOf,
  listPublishedBackupIds,
  loadBackup,
  publishManifest,
  readManifest,
  runBackupCommand,
} from '../../commands/backups/index.js';
import { jobCommandContext } from '../../commands/job-command-context.js';
import type { CommandContext, CommandDeps } from '../../commands/handle-command.js';
import { START, comparePositions, formatPosition, parsePosition } from '../../ports/event-store.js';
import { writeApiKeysItem, writeEventItem, writeFilesItem, type ItemWriterDeps } from './backup-items.js';

export interface BackupRunnerDeps extends ItemWriterDeps {
  readonly commands: CommandDeps;
}

export interface BackupRun {
  readonly backupId: string;
  readonly tenantId: string;
  /** The event that started the run: step command ids derive from it. */
  readonly causationId: string;
  readonly correlationId: string;
  /** True on the job's last attempt: what is unfinished then fails instead of being retried. */
  readonly lastAttempt: boolean;
}

export const backupStepContext = (run: BackupRun, step: string): CommandContext =>
  jobCommandContext({
    tenantId: run.tenantId,
    process: 'backups',
    namespace: `backup-run:${run.backupId}`,
    key: `${run.causationId}:${step}`,
    correlationId: run.correlationId,
    causationId: run.causationId,
  });

/** The newest published backup this incremental continues: same type, same scope, highest end position. */
export async function findParent(deps: Pick<BackupRunnerDeps, 'storage'>, state: BackupState): Promise<BackupManifest | undefined> {
  let best: BackupManifest | undefined;
  for (const id of await listPublishedBackupIds(deps.storage)) {
    if (id === state.backupId) continue;
    const manifest = await readManifest(deps.storage, id).catch(() => undefined);
    if (!manifest || manifest.type !== state.backupType || manifest.scope.tenantId !== state.scope.tenantId) continue;
    if (manifest.failedItems.length > 0) continue;
    if (!best || comparePositions(parsePosition(manifest.position.to)!, parsePosition(best.position.to)!) > 0) best = manifest;
  }
  return best;
}

export function manifestOf(state: BackupState): BackupManifest {
  const started = state.started!;
  const failed = new Set(state.failedItems.map((f) => f.item));
  const chunks = state.chunks.filter((chunk) => !failed.has(chunk.item));
  return {
    formatVersion: BACKUP_FORMAT_VERSION,
    backupId: state.backupId,
    name: state.name,
    type: state.backupType,
    scope: state.scope,
    position: { from: started.from, to: started.to },
    eventCount: chunks.reduce((sum, chunk) => sum + chunk.events, 0),
    chunks,
    encryption: started.encryption,
    createdAt: started.startedAt,
    createdBy: state.requestedBy,
    parentBackupId: started.parentBackupId,
    failedItems: state.failedItems,
  };
}

export async function runBackup(deps: BackupRunnerDeps, run: BackupRun): Promise<void> {
  const step = async (name: string, command: BackupCommand) => {
    const result = await runBackupCommand(deps.commands, backupStepContext(run, name), run.backupId, command);
    return result.state;
  };
  let state = (await loadBackup(deps.commands, run.tenantId, run.backupId)).state;
  if (state.status !== 'running') return;
  try {
    if (!state.started) {
      const parent = state.incremental ? await findParent(deps, state) : undefined;
      const head = await deps.commands.eventStore.headPosition();
      state = await step('start', {
        type: 'StartBackup',
        data: {
          parentBackupId: parent?.backupId ?? null,
          from: parent?.position.to ?? formatPosition(START),
          to: formatPosition(head),
          items: [...itemsOfType(state.backupType)],
          location: deps.storage.location(manifestKey(state.backupId)),
          encryption: encryptionOf(deps.key),
          startedAt: deps.commands.clock().toISOString(),
        },
      });
    }
    for (const item of state.started!.items) {
      if (state.itemsDone.includes(item) || state.failedItems.some((f) => f.item === item)) continue;
      const record = async (chunk: BackupState['chunks'][number], cursor: { item: BackupItem; after: string }) => {
        state = await step(`chunk:${chunk.name}`, { type: 'RecordChunk', data: { chunk, cursor } });
      };
      if (item === 'files') await writeFilesItem(deps, state, record);
      else if (item === 'api-keys') {
        // One chunk: a run that recorded it and died before CompleteItem does not write a second.
        if (!state.chunks.some((chunk) => chunk.item === 'api-keys')) await writeApiKeysItem(deps, state, record);
      } else await writeEventItem(deps, state, item, record);
      state = await step(`done:${item}`, { type: 'CompleteItem', data: { item } });
    }
  } catch (error) {
    if (!run.lastAttempt) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    state = (await loadBackup(deps.commands, run.tenantId, run.backupId)).state;
    if (state.status !== 'running') return;
    if (!state.started) {
      await step('fail', { type: 'FailBackup', data: { reason, failedAt: deps.commands.clock().toISOString() } });
      return;
    }
    for (const item of state.started.items) {
      if (state.itemsDone.includes(item) || state.failedItems.some((f) => f.item === item)) continue;
      state = await step(`fail:${item}`, { type: 'FailItem', data: { item, reason } });
    }
  }
  await finish(deps, run, state, step);
}

async function finish(
  deps: BackupRunnerDeps,
  run: BackupRun,
  state: BackupState,
  step: (name: string, command: BackupCommand) => Promise<BackupState>,
): Promise<void> {
  const finishedAt = deps.commands.clock().toISOString();
  const failed = new Set(state.failedItems.map((f) => f.item));
  // Chunks of failed items are not part of the backup: remove them (best effort: unlisted either way).
  const orphans = state.chunks.filter((chunk) => failed.has(chunk.item));
  const allFailed = failed.size >= state.started!.items.length;
  if (allFailed) {
    await Promise.allSettled(state.chunks.map((chunk) => deps.storage.delete(chunkKey(run.backupId, chunk.name))));
    await step('finish', { type: 'FinishBackup', data: { checksum: '', location: '', finishedAt } });
    return;
  }
  await Promise.allSettled(orphans.map((chunk) => deps.storage.delete(chunkKey(run.backupId, chunk.name))));
  const manifest = manifestOf(state);
  await publishManifest(deps.storage, manifest);
  const checksum = createHash('sha256')
    .update(JSON.stringify(manifest, null, 2))
    .digest('hex');
  await step('finish', {
    type: 'FinishBackup',
    data: { checksum, location: deps.storage.location(manifestKey(run.backupId)), finishedAt },
  });
}
