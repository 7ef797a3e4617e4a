// A backup's chain: the full backup it rests on, then each incremental in order, ending with it. Each link
// must start exactly where its parent ended.
import type { BackupManifest } from '../../domain/backups/index.js';
import type { BackupStorage } from '../../ports/backup-storage.js';
import { readManifest } from './backup-manifest.js';

export class BackupChainError extends Error {
  override readonly name = 'BackupChainError';
  constructor(
    /** `missing_parent`, `not_contiguous`, `cycle`, `not_found`. */
    readonly reason: 'missing_parent' | 'not_contiguous' | 'cycle' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

const MAX_CHAIN = 10_000;

/** Full first, `backupId` last. Throws BackupChainError when a link is missing or does not join. */
export async function resolveBackupChain(storage: BackupStorage, backupId: string): Promise<BackupManifest[]> {
  const target = await readManifest(storage, backupId);
  if (!target) throw new BackupChainError('not_found', `backup ${backupId} is not in the backup storage`);
  const chain = [target];
  const seen = new Set([backupId]);
  let child = target;
  while (child.parentBackupId) {
    const parentId = child.parentBackupId;
    if (seen.has(parentId) || chain.length > MAX_CHAIN)
      throw new BackupChainError('cycle', `backup ${child.backupId}: its chain loops at ${parentId}`);
    seen.add(parentId);
    const parent = await readManifest(storage, parentId);
    if (!parent)
      throw new BackupChainError(
        'missing_parent',
        `backup ${child.backupId} is incremental and needs its parent ${parentId}, which is not in the backup storage`,
      );
    if (parent.position.to !== child.position.from)
      throw new BackupChainError(
        'not_contiguous',
        `backup ${child.backupId} starts after position ${child.position.from}, but its parent ${parentId} ends at ${parent.position.to}`,
      );
    chain.unshift(parent);
    child = parent;
  }
  return chain;
}
