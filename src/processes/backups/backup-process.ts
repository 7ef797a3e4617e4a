// The backup process manager and its worker: BackupRequested enqueues one job per backup (its id derived
// from the event, so a re-delivered event enqueues nothing new); the worker runs the backup to its end.
// A job that fails (storage unreachable, the store down) is retried with backoff and resumes after the
// last recorded chunk; on its last attempt the unfinished items fail (see backup-runner.ts).
import type { JsonObject } from '../../domain/json.js';
import { BACKUP_CATEGORY, manifestKey } from '../../domain/backups/index.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import type { JobHandler } from '../../ports/job-queue.js';
import type { ProcessManager } from '../process-manager.js';
import { idOfStream } from '../../domain/tenant-streams.js';
import { runBackup, type BackupRunnerDeps } from './backup-runner.js';

export const BACKUP_QUEUE = 'backups';
export const BACKUP_JOB_ATTEMPTS = 5;

export const backupProcessManager: ProcessManager = {
  name: 'backups',
  filter: { categories: [BACKUP_CATEGORY], eventTypes: ['BackupRequested', 'BackupDeleted'] },
  async handle(event, context) {
    if (event.type === 'BackupDeleted') {
      await context.enqueue(BACKUP_QUEUE, { action: 'delete', backupId: backupIdOfStream(event.streamId) }, { attempts: 10 });
      return;
    }
    if (event.type !== 'BackupRequested') return;
    const payload: JsonObject = {
      action: 'run',
      backupId: String(event.data.backupId),
      tenantId: String(event.metadata.tenantId ?? ''),
      causationId: event.id,
      correlationId: String(event.metadata.correlationId ?? event.id),
    };
    // Grouped by tenant: the backup worker every tenant shares runs one tenant's backups in turn with the others'.
    await context.enqueue(BACKUP_QUEUE, payload, { attempts: BACKUP_JOB_ATTEMPTS, group: String(event.metadata.tenantId ?? '') });
  },
};

export function backupWorker(deps: BackupRunnerDeps, attempts = BACKUP_JOB_ATTEMPTS): JobHandler {
  return async (job) => {
    const { action, backupId, tenantId, causationId, correlationId } = job.payload as Record<string, string>;
    if (action === 'delete') return deleteBackupObjects(deps.storage, backupId!);
    await runBackup(deps, {
      backupId: backupId!,
      tenantId: tenantId!,
      causationId: causationId!,
      correlationId: correlationId!,
      lastAttempt: job.attempt >= attempts,
    });
  };
}

const backupIdOfStream = (streamId: string) => idOfStream(BACKUP_CATEGORY, streamId) ?? '';

/** Unpublishes the backup (its manifest first, so it is never listed half-deleted), then its chunks. */
export async function deleteBackupObjects(storage: BackupStorage, backupId: string): Promise<void> {
  await storage.delete(manifestKey(backupId));
  const keys: string[] = [];
  for await (const object of storage.list(`${backupId}/`)) keys.push(object.key);
  for (const key of keys) await storage.delete(key);
}
