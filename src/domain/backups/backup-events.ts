// Events of the backup aggregate (stream `backup-<backupId>`). A backup runs as: Requested (by a user or a
// policy) → Started (the worker fixed the position range and the parent) → ChunkWritten per chunk stored
// (a crashed run resumes after the last one) → Completed | PartiallyFailed | Failed. Validation and
// restore drills are recorded on the same stream.
import type { BackupChunk, BackupItem, BackupManifest, BackupScope, BackupType, PositionText } from './backup-format.js';

export type BackupFailedItem = {
  readonly item: BackupItem;
  readonly reason: string;
};

/** Where a backup's item stands after a chunk: the resume point. */
export type BackupItemCursor = {
  readonly item: BackupItem;
  /** Events: the position of the chunk's last event. Files: the last file piece written, `path@offset`. */
  readonly after: string;
};

/** A finding of validation (the seed's ValidationError / ValidationWarning): what, where, which rule. */
export type BackupValidationIssue = {
  /** What it is about: `manifest`, `chunks[3]` (a chunk by index), `parentBackupId`, `encryption`. */
  readonly field: string;
  readonly message: string;
  /** Stable, e.g. `chunk.sha256_mismatch`. */
  readonly code: string;
};

export type RestoreDrillDifference = {
  readonly table: string;
  readonly tenantId: string;
  readonly live: { readonly rows: number; readonly checksum: string };
  readonly restored: { readonly rows: number; readonly checksum: string };
};

export type BackupEvent =
  | {
      type: 'BackupRequested';
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
  | {
      type: 'BackupStarted';
      data: {
        parentBackupId: string | null;
        from: PositionText;
        to: PositionText;
        items: BackupItem[];
        location: string;
        encryption: BackupManifest['encryption'];
        startedAt: string;
      };
    }
  | { type: 'BackupChunkWritten'; data: { chunk: BackupChunk; cursor: BackupItemCursor } }
  | { type: 'BackupItemCompleted'; data: { item: BackupItem } }
  | { type: 'BackupItemFailed'; data: BackupFailedItem }
  | {
      type: 'BackupCompleted';
      data: { eventCount: number; bytes: number; checksum: string; location: string; durationMs: number; completedAt: string };
    }
  | {
      type: 'BackupPartiallyFailed';
      data: {
        eventCount: number;
        bytes: number;
        checksum: string;
        location: string;
        durationMs: number;
        completedAt: string;
        failedItems: BackupFailedItem[];
      };
    }
  | { type: 'BackupFailed'; data: { reason: string; failedAt: string } }
  | { type: 'BackupDeleted'; data: { deletedAt: string } }
  | {
      type: 'BackupValidated';
      data: { valid: boolean; errors: BackupValidationIssue[]; warnings: BackupValidationIssue[]; validatedAt: string };
    }
  | { type: 'RestoreDrillStarted'; data: { drillId: string; startedAt: string } }
  /** A worker began a run of the drill (it waited in the queue until then). */
  | { type: 'RestoreDrillRunStarted'; data: { drillId: string; run: number; startedAt: string } }
  | {
      type: 'RestoreDrillPassed';
      data: { drillId: string; position: PositionText; tables: number; durationMs: number; finishedAt: string };
    }
  | {
      type: 'RestoreDrillFailed';
      data: { drillId: string; reason: string; differences: RestoreDrillDifference[]; durationMs: number; finishedAt: string };
    };

export type BackupEventType = BackupEvent['type'];

export const BACKUP_EVENT_TYPES: readonly BackupEventType[] = [
  'BackupRequested',
  'BackupStarted',
  'BackupChunkWritten',
  'BackupItemCompleted',
  'BackupItemFailed',
  'BackupCompleted',
  'BackupPartiallyFailed',
  'BackupFailed',
  'BackupDeleted',
  'BackupValidated',
  'RestoreDrillStarted',
  'RestoreDrillRunStarted',
  'RestoreDrillPassed',
  'RestoreDrillFailed',
];
