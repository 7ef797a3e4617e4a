// Which backups a policy's retention deletes after a successful backup: those older than `days`, beyond the
// newest `minCount` valid ones, never the newest valid backup, and never a backup that a kept incremental
// needs to restore (its parent, its parent's parent…). Pure: the scheduler asks and deletes.
import { RuleViolation } from '../rule-violation.js';

export type RetentionPolicy = {
  /** Backups older than this many days may go. */
  readonly days: number;
  /** The newest this-many valid backups stay whatever their age. */
  readonly minCount: number;
};

export const RETENTION_DAYS_MAX = 3650;
export const RETENTION_MIN_COUNT_MAX = 1000;

export function assertValidRetention(retention: RetentionPolicy): void {
  const field = (name: string) => `retention.${name}`;
  if (!Number.isInteger(retention.days) || retention.days < 0 || retention.days > RETENTION_DAYS_MAX)
    throw new RuleViolation(
      'backup_policy.retention.days',
      `days must be a whole number from 0 to ${RETENTION_DAYS_MAX}`,
      'invalid',
      field('days'),
    );
  if (!Number.isInteger(retention.minCount) || retention.minCount < 0 || retention.minCount > RETENTION_MIN_COUNT_MAX)
    throw new RuleViolation(
      'backup_policy.retention.min_count',
      `minCount must be a whole number from 0 to ${RETENTION_MIN_COUNT_MAX}`,
      'invalid',
      field('minCount'),
    );
  if (retention.days === 0 && retention.minCount === 0)
    throw new RuleViolation(
      'backup_policy.retention.keeps_nothing',
      'retention of 0 days with a minimum of 0 keeps no backup; raise days or minCount',
      'invalid',
      field('minCount'),
    );
}

export interface RetainedBackup {
  readonly backupId: string;
  /** When it completed (ISO); only completed backups are considered. */
  readonly completedAt: string;
  /** Completed and (when validated) valid: it can be restored. */
  readonly valid: boolean;
  /** The backup an incremental continues; null for a full one. */
  readonly parentId: string | null;
}

/** The backup ids to delete, oldest first. */
export function backupsToDelete(backups: readonly RetainedBackup[], retention: RetentionPolicy, now: Date): string[] {
  const byId = new Map(backups.map((backup) => [backup.backupId, backup]));
  const newestFirst = [...backups].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt));
  const cutoff = now.getTime() - retention.days * 86_400_000;
  const keep = new Set<string>();
  // The newest valid ones (at least one, whatever minCount says), then everything young enough.
  const valid = newestFirst.filter((backup) => backup.valid);
  for (const backup of valid.slice(0, Math.max(1, retention.minCount))) keep.add(backup.backupId);
  for (const backup of newestFirst) if (Date.parse(backup.completedAt) >= cutoff) keep.add(backup.backupId);
  // A kept incremental restores only with its whole chain.
  for (const id of [...keep]) {
    const seen = new Set<string>();
    for (let parent = byId.get(id)?.parentId; parent && !seen.has(parent); parent = byId.get(parent)?.parentId) {
      seen.add(parent);
      keep.add(parent);
    }
  }
  return newestFirst
    .filter((backup) => !keep.has(backup.backupId))
    .reverse()
    .map((backup) => backup.backupId);
}
