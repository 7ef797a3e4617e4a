// The restore aggregate: one per restore of a backup into an empty target (`restore-<id>` stream). Pure:
// the restore worker does the I/O and records each run, its progress and the outcome through it.
//
// A run is one attempt at the whole restore: the bulk load is one transaction into the target, so a run
// that dies (the service killed) left the target empty and the next run starts over. Runs are counted so
// that a restore killed again and again ends `failed` instead of running forever.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { globalStreamId } from '../tenant-streams.js';

export const RESTORE_CATEGORY = 'restore';
/** Global: the server chooses restore ids. */
export const restoreStreamId = (restoreId: string) => globalStreamId(RESTORE_CATEGORY, restoreId);

/** Where the log goes: a PostgreSQL database (URL without password) or a new data directory for PGlite. */
export type RestoreTargetSpec = { readonly kind: 'database'; readonly url: string } | { readonly kind: 'directory'; readonly path: string };

/** The parts of a backup a restore brought back (`log`, `files`, `api-keys`), and those it did not, with why. */
export type RestoredPartsData = {
  restored: string[];
  notRestored: { part: string; reason: string }[];
};

export type RestoreStatus = 'none' | 'running' | 'completed' | 'failed';

export type RestoreEvent =
  | {
      type: 'RestoreRequested';
      data: {
        restoreId: string;
        backupId: string;
        /** The backup's tenant; null: every tenant. */
        backupTenantId: string | null;
        target: RestoreTargetSpec;
        toPosition: string | null;
        toTime: string | null;
        requestedBy: string;
        requestedAt: string;
      };
    }
  | { type: 'RestoreRunStarted'; data: { run: number; startedAt: string } }
  | { type: 'RestoreProgressed'; data: { run: number; events: number; totalEvents: number; lastPosition: string | null } }
  | {
      type: 'RestoreCompleted';
      data: {
        events: number;
        streams: number;
        chain: string[];
        firstPosition: string | null;
        lastPosition: string | null;
        finishedAt: string;
        /** What came back beside the log and what did not (absent on restores recorded before parts were). */
        parts?: RestoredPartsData;
        /** API keys written (hashes). */
        apiKeys?: number;
      };
    }
  | { type: 'RestoreFailed'; data: { reason: string; field: string | null; chunk: string | null; finishedAt: string } };

export type RestoreCommand =
  | { type: 'RequestRestore'; data: Extract<RestoreEvent, { type: 'RestoreRequested' }>['data'] }
  | { type: 'StartRun'; data: { startedAt: string } }
  | { type: 'RecordProgress'; data: Extract<RestoreEvent, { type: 'RestoreProgressed' }>['data'] }
  | { type: 'CompleteRestore'; data: Extract<RestoreEvent, { type: 'RestoreCompleted' }>['data'] }
  | { type: 'FailRestore'; data: Extract<RestoreEvent, { type: 'RestoreFailed' }>['data'] };

export interface RestoreState {
  readonly status: RestoreStatus;
  readonly restoreId: string;
  readonly backupId: string;
  readonly runs: number;
}

export const END_RESTORE_EVENTS: readonly string[] = ['RestoreCompleted', 'RestoreFailed'];

const initialState = (): RestoreState => ({ status: 'none', restoreId: '', backupId: '', runs: 0 });

function running(state: RestoreState): void {
  if (state.status === 'none') throw notFoundOf(RESTORE_CATEGORY);
  if (state.status !== 'running') throw new RuleViolation('restore.finished', `the restore has ended (${state.status})`, 'conflict');
}

export const restoreDecider: Decider<RestoreState, RestoreCommand, RestoreEvent> = {
  initialState,
  decide(command, state) {
    switch (command.type) {
      case 'RequestRestore':
        if (state.status !== 'none') throw new RuleViolation('restore.exists', 'the restore exists already', 'conflict');
        return [{ type: 'RestoreRequested', data: command.data }];
      case 'StartRun':
        running(state);
        return [{ type: 'RestoreRunStarted', data: { run: state.runs + 1, startedAt: command.data.startedAt } }];
      case 'RecordProgress':
        running(state);
        return [{ type: 'RestoreProgressed', data: command.data }];
      case 'CompleteRestore':
        running(state);
        return [{ type: 'RestoreCompleted', data: command.data }];
      case 'FailRestore':
        running(state);
        return [{ type: 'RestoreFailed', data: command.data }];
      default: {
        const unknownCommand: never = command;
        throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'RestoreRequested':
        return { ...state, status: 'running', restoreId: event.data.restoreId, backupId: event.data.backupId };
      case 'RestoreRunStarted':
        return { ...state, runs: event.data.run };
      case 'RestoreProgressed':
        return state;
      case 'RestoreCompleted':
        return { ...state, status: 'completed' };
      case 'RestoreFailed':
        return { ...state, status: 'failed' };
      default: {
        // Every event of the union is handled above (checked here); one this version does not know
        // (written by a newer one) changes nothing, so a fold never fails on it.
        const unknownEvent: never = event;
        void unknownEvent;
        return state;
      }
    }
  },
};
