// The record of one tenant point-in-time restore: requested (what and to when; a job runs it when its turn
// comes), started by the worker (how many aggregates change, and the log position the plan was made at),
// then completed with its outcome, or failed. The restored aggregates carry their own restore events; this
// stream answers "what happened". Records written before restores were queued start with Started.
import type { Decider } from '../decider.js';
import type { JsonObject } from '../json.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { tenantStreamId } from '../tenant-streams.js';

export const TENANT_RESTORE_CATEGORY = 'tenantrestore';
/** Per tenant (domain/tenant-streams.ts): the client may choose the restore id. */
export const tenantRestoreStreamId = (tenantId: string, restoreId: string) => tenantStreamId(TENANT_RESTORE_CATEGORY, tenantId, restoreId);

export type TenantRestoreOutcome = 'completed' | 'partially_failed';

export type TenantRestoreRequestedData = {
  restoreId: string;
  tenantId: string;
  /** ISO instant, or null when the target is a position. */
  at: string | null;
  position: string | null;
  types: string[];
  ids: string[];
  requestedAt: string;
};

export type TenantRestoreStartedData = {
  restoreId: string;
  tenantId: string;
  at: string | null;
  position: string | null;
  types: string[];
  ids: string[];
  planned: number;
  startedAt: string;
  /** The log position the plan folded "now" at: a retried job plans the same steps again (absent on old records). */
  planPosition?: string;
};

export type TenantRestoreFailure = { aggregateType: string; aggregateId: string; rule: string; reason: string };

export type TenantRestoreCompletedData = {
  outcome: TenantRestoreOutcome;
  archived: number;
  restored: number;
  unchanged: number;
  failures: TenantRestoreFailure[];
  finishedAt: string;
};

/** The whole restore could not run (a pruned history, or its job's attempts ran out). */
export type TenantRestoreFailedData = { rule: string; reason: string; finishedAt: string };

export type TenantRestoreEvent =
  | { type: 'TenantRestoreRequested'; data: TenantRestoreRequestedData }
  | { type: 'TenantRestoreStarted'; data: TenantRestoreStartedData }
  | { type: 'TenantRestoreCompleted'; data: TenantRestoreCompletedData }
  | { type: 'TenantRestoreFailed'; data: TenantRestoreFailedData };

export type TenantRestoreCommand =
  | { type: 'RequestTenantRestore'; data: TenantRestoreRequestedData }
  | { type: 'StartTenantRestore'; data: TenantRestoreStartedData }
  | { type: 'CompleteTenantRestore'; data: TenantRestoreCompletedData }
  | { type: 'FailTenantRestore'; data: TenantRestoreFailedData };

type Target = Pick<TenantRestoreRequestedData, 'restoreId' | 'tenantId' | 'at' | 'position' | 'types' | 'ids'>;
type Run = { requestedAt: string | null; planned: number | null; startedAt: string | null; planPosition: string | null };

export type TenantRestoreState =
  | { status: 'absent' }
  | ({ status: 'queued' | 'running' } & Target & Run)
  | ({ status: TenantRestoreOutcome } & Target & Run & { result: TenantRestoreCompletedData })
  | ({ status: 'failed' } & Target & Run & { error: TenantRestoreFailedData });

const asJson = <T>(data: T) => data as T & JsonObject;
const finished = (status: TenantRestoreState['status']) => status === 'completed' || status === 'partially_failed' || status === 'failed';

export const tenantRestoreDecider: Decider<TenantRestoreState, TenantRestoreCommand, TenantRestoreEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide(command, state) {
    switch (command.type) {
      case 'RequestTenantRestore':
        if (state.status !== 'absent')
          throw new RuleViolation('tenant_restore.exists', 'this restore id was already used', 'conflict', 'restoreId');
        return [{ type: 'TenantRestoreRequested', data: asJson(command.data) }];
      case 'StartTenantRestore':
        // After its request (queued), or alone (a record from before restores were queued).
        if (state.status === 'absent' || state.status === 'queued') return [{ type: 'TenantRestoreStarted', data: asJson(command.data) }];
        if (state.status === 'running') return [];
        throw new RuleViolation('tenant_restore.exists', 'this restore id was already used', 'conflict', 'restoreId');
      case 'CompleteTenantRestore':
        if (state.status === 'absent') throw notFoundOf(TENANT_RESTORE_CATEGORY);
        return state.status === 'running' ? [{ type: 'TenantRestoreCompleted', data: asJson(command.data) }] : [];
      case 'FailTenantRestore':
        if (state.status === 'absent') throw notFoundOf(TENANT_RESTORE_CATEGORY);
        return finished(state.status) ? [] : [{ type: 'TenantRestoreFailed', data: asJson(command.data) }];
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${(unknown as { type: string }).type}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'TenantRestoreRequested': {
        const { requestedAt, ...target } = event.data;
        return { status: 'queued', ...target, requestedAt, planned: null, startedAt: null, planPosition: null };
      }
      case 'TenantRestoreStarted': {
        const { planned, startedAt, planPosition, ...target } = event.data;
        const requestedAt = state.status === 'absent' ? null : state.requestedAt;
        return { status: 'running', ...target, requestedAt, planned, startedAt, planPosition: planPosition ?? null };
      }
      case 'TenantRestoreCompleted':
        if (state.status === 'absent') return state;
        return { ...state, status: event.data.outcome, result: event.data };
      case 'TenantRestoreFailed':
        if (state.status === 'absent') return state;
        return { ...state, status: 'failed', error: event.data };
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
