import type { BackupChunk, BackupItem, BackupScope, BackupType, PositionText } from './backup-format.js';
import type { BackupEvent, BackupFailedItem, BackupItemCursor, BackupValidationIssue, RestoreDrillDifference } from './backup-events.js';

export const BACKUP_NAME_MAX = 200;

export type BackupCommand =
  | {
      type: 'RequestBackup';
      data: {
        backupId: string;
        name: string;
        backupType: BackupType;
        scope: BackupScope;
        incremental: boolean;
        policyId: string | null;
        requestedBy: string;
      };
    }
  | { type: 'StartBackup'; data: Extract<BackupEvent, { type: 'BackupStarted' }>['data'] }
  | { type: 'RecordChunk'; data: { chunk: BackupChunk; cursor: BackupItemCursor } }
  | { type: 'CompleteItem'; data: { item: BackupItem } }
  | { type: 'FailItem'; data: BackupFailedItem }
  /** Ends the run: Completed, or PartiallyFailed when an item failed, or Failed when every item did. */
  | { type: 'FinishBackup'; data: { checksum: string; location: string; finishedAt: string } }
  | { type: 'FailBackup'; data: { reason: string; failedAt: string } }
  | { type: 'DeleteBackup'; data: { deletedAt: string } }
  | {
      type: 'RecordValidation';
      data: { valid: boolean; errors: BackupValidationIssue[]; warnings: BackupValidationIssue[]; validatedAt: string };
    }
  | { type: 'StartRestoreDrill'; data: { drillId: string; startedAt: string } }
  | { type: 'StartRestoreDrillRun'; data: { drillId: string; run: number; startedAt: string } }
  | { type: 'PassRestoreDrill'; data: { drillId: string; position: PositionText; tables: number; finishedAt: string } }
  | {
      type: 'FailRestoreDrill';
      data: { drillId: string; reason: string; differences: RestoreDrillDifference[]; finishedAt: string };
    };
