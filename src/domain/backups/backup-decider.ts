// The backup aggregate: one per backup. Pure: the worker does the I/O and records each step through it.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { BACKUP_CATEGORY } from './backup-streams.js';
import type { BackupCommand } from './backup-commands.js';
import { BACKUP_NAME_MAX } from './backup-commands.js';
import type { BackupEvent, BackupFailedItem, BackupItemCursor } from './backup-events.js';
import type { BackupChunk, BackupItem, BackupManifest, BackupScope, BackupType, PositionText } from './backup-format.js';
import { BACKUP_TYPES } from './backup-format.js';

export type BackupStatus = 'none' | 'running' | 'completed' | 'failed' | 'partially_failed';

export interface BackupDrillState {
  readonly drillId: string;
  readonly status: 'running' | 'passed' | 'failed';
  readonly startedAt: string;
}

export interface BackupState {
  readonly status: BackupStatus;
  readonly deleted: boolean;
  readonly backupId: string;
  readonly name: string;
  readonly backupType: BackupType;
  readonly scope: BackupScope;
  readonly incremental: boolean;
  readonly policyId: string | null;
  readonly requestedBy: string;
  /** Set once started. */
  readonly started?: {
    readonly parentBackupId: string | null;
    readonly from: PositionText;
    readonly to: PositionText;
    readonly items: readonly BackupItem[];
    readonly location: string;
    readonly encryption: BackupManifest['encryption'];
    readonly startedAt: string;
  };
  readonly chunks: readonly BackupChunk[];
  /** Per item, where the last chunk ended (resume point). */
  readonly cursors: Readonly<Partial<Record<BackupItem, BackupItemCursor>>>;
  readonly itemsDone: readonly BackupItem[];
  readonly failedItems: readonly BackupFailedItem[];
  readonly drill?: BackupDrillState;
}

export const initialBackupState = (): BackupState => ({
  status: 'none',
  deleted: false,
  backupId: '',
  name: '',
  backupType: 'database',
  scope: {},
  incremental: false,
  policyId: null,
  requestedBy: '',
  chunks: [],
  cursors: {},
  itemsDone: [],
  failedItems: [],
});

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const NAME_PATTERN = /^[^\u0000-\u001f\u007f]+$/;

export function assertValidBackupRequest(data: Extract<BackupCommand, { type: 'RequestBackup' }>['data']): void {
  const name = data.name.trim();
  if (name.length === 0 || name.length > BACKUP_NAME_MAX || !NAME_PATTERN.test(name))
    throw new RuleViolation(
      'backup.name.invalid',
      `name must be 1–${BACKUP_NAME_MAX} characters without control characters`,
      'invalid',
      'name',
    );
  if (!BACKUP_TYPES.includes(data.backupType))
    throw new RuleViolation('backup.type.invalid', `type must be one of ${BACKUP_TYPES.join(', ')}`, 'invalid', 'type');
  if (data.backupType === 'files' && data.incremental)
    throw new RuleViolation('backup.incremental.files', 'a files backup is always full', 'invalid', 'incremental');
}

const exists = (state: BackupState) => {
  if (state.status === 'none' || state.deleted) throw notFoundOf(BACKUP_CATEGORY);
};
const running = (state: BackupState) => {
  exists(state);
  if (state.status !== 'running') throw new RuleViolation('backup.not_running', `the backup is ${state.status}`, 'conflict');
};
const finished = (state: BackupState) => {
  exists(state);
  if (state.status === 'running') throw new RuleViolation('backup.running', 'the backup is still running', 'conflict');
};

export const sumBytes = (chunks: readonly BackupChunk[]) => chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
export const sumEvents = (chunks: readonly BackupChunk[]) => chunks.reduce((sum, chunk) => sum + chunk.events, 0);

function decide(command: BackupCommand, state: BackupState): BackupEvent[] {
  switch (command.type) {
    case 'RequestBackup':
      if (state.status !== 'none') throw new RuleViolation('backup.exists', 'the backup exists already', 'conflict');
      assertValidBackupRequest(command.data);
      return [{ type: 'BackupRequested', data: { ...command.data, name: command.data.name.trim() } }];
    case 'StartBackup':
      running(state);
      if (state.started) return []; // a resumed run keeps the range it fixed first
      return [{ type: 'BackupStarted', data: command.data }];
    case 'RecordChunk':
      running(state);
      if (!state.started) throw new RuleViolation('backup.not_started', 'the backup has not started', 'conflict');
      // A resumed run rewrites a chunk of the same name only if the first write was never recorded.
      if (state.chunks.some((chunk) => chunk.name === command.data.chunk.name)) return [];
      return [{ type: 'BackupChunkWritten', data: command.data }];
    case 'CompleteItem':
      running(state);
      if (state.itemsDone.includes(command.data.item)) return [];
      return [{ type: 'BackupItemCompleted', data: command.data }];
    case 'FailItem':
      running(state);
      if (state.failedItems.some((failed) => failed.item === command.data.item)) return [];
      return [{ type: 'BackupItemFailed', data: command.data }];
    case 'FinishBackup': {
      running(state);
      if (!state.started) throw new RuleViolation('backup.not_started', 'the backup has not started', 'conflict');
      const durationMs = Math.max(0, Date.parse(command.data.finishedAt) - Date.parse(state.started.startedAt));
      const totals = {
        eventCount: sumEvents(state.chunks),
        bytes: sumBytes(state.chunks),
        checksum: command.data.checksum,
        location: command.data.location,
        durationMs,
        completedAt: command.data.finishedAt,
      };
      if (state.failedItems.length === 0) return [{ type: 'BackupCompleted', data: totals }];
      if (state.failedItems.length >= state.started.items.length)
        return [
          {
            type: 'BackupFailed',
            data: { reason: state.failedItems.map((f) => `${f.item}: ${f.reason}`).join('; '), failedAt: command.data.finishedAt },
          },
        ];
      return [{ type: 'BackupPartiallyFailed', data: { ...totals, failedItems: [...state.failedItems] } }];
    }
    case 'FailBackup':
      exists(state);
      if (state.status !== 'running') return [];
      return [{ type: 'BackupFailed', data: command.data }];
    case 'DeleteBackup':
      finished(state);
      return [{ type: 'BackupDeleted', data: command.data }];
    case 'RecordValidation':
      finished(state);
      return [{ type: 'BackupValidated', data: command.data }];
    case 'StartRestoreDrill':
      finished(state);
      if (state.status === 'failed') throw new RuleViolation('backup.failed', 'a failed backup cannot be drilled', 'conflict');
      if (state.drill?.status === 'running' && state.drill.drillId !== command.data.drillId)
        throw new RuleViolation('backup.drill.running', 'a restore drill of this backup is running', 'conflict');
      if (state.drill?.drillId === command.data.drillId) return [];
      return [{ type: 'RestoreDrillStarted', data: command.data }];
    case 'StartRestoreDrillRun':
      exists(state);
      if (state.drill?.drillId !== command.data.drillId || state.drill.status !== 'running') return [];
      return [{ type: 'RestoreDrillRunStarted', data: command.data }];
    case 'PassRestoreDrill':
    case 'FailRestoreDrill': {
      exists(state);
      if (state.drill?.drillId !== command.data.drillId || state.drill.status !== 'running') return [];
      const durationMs = Math.max(0, Date.parse(command.data.finishedAt) - Date.parse(state.drill.startedAt));
      return command.type === 'PassRestoreDrill'
        ? [{ type: 'RestoreDrillPassed', data: { ...command.data, durationMs } }]
        : [{ type: 'RestoreDrillFailed', data: { ...command.data, durationMs } }];
    }
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

function evolve(state: BackupState, event: BackupEvent): BackupState {
  switch (event.type) {
    case 'BackupRequested': {
      const { backupType, ...rest } = event.data;
      return { ...state, ...rest, backupType, status: 'running' };
    }
    case 'BackupStarted':
      return { ...state, started: event.data };
    case 'BackupChunkWritten':
      return {
        ...state,
        chunks: [...state.chunks, event.data.chunk],
        cursors: { ...state.cursors, [event.data.cursor.item]: event.data.cursor },
      };
    case 'BackupItemCompleted':
      return { ...state, itemsDone: [...state.itemsDone, event.data.item] };
    case 'BackupItemFailed':
      return { ...state, failedItems: [...state.failedItems, event.data] };
    case 'BackupCompleted':
      return { ...state, status: 'completed' };
    case 'BackupPartiallyFailed':
      return { ...state, status: 'partially_failed' };
    case 'BackupFailed':
      return { ...state, status: 'failed' };
    case 'BackupDeleted':
      return { ...state, deleted: true };
    case 'BackupValidated':
      return state;
    case 'RestoreDrillStarted':
      return { ...state, drill: { drillId: event.data.drillId, status: 'running', startedAt: event.data.startedAt } };
    case 'RestoreDrillRunStarted':
      return state;
    case 'RestoreDrillPassed':
      return state.drill ? { ...state, drill: { ...state.drill, status: 'passed' } } : state;
    case 'RestoreDrillFailed':
      return state.drill ? { ...state, drill: { ...state.drill, status: 'failed' } } : state;
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}

export const backupDecider: Decider<BackupState, BackupCommand, BackupEvent> = {
  initialState: initialBackupState,
  decide,
  evolve,
};
