// The record of one tenant point-in-time restore: started (what and to when), then completed with its
// outcome. The restored aggregates carry their own restore events; this stream answers "what happened".
import type { Decider } from '../decider.js';
import type { JsonObject } from '../json.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { tenantStreamId } from '../tenant-streams.js';

export const TENANT_RESTORE_CATEGORY = 'tenantrestore';
/** Per tenant (domain/tenant-streams.ts): the client may choose the restore id. */
export const tenantRestoreStreamId = (tenantId: string, restoreId: string) => tenantStreamId(TENANT_RESTORE_CATEGORY, tenantId, restoreId);

export type TenantRestoreOutcome = 'completed' | 'partially_failed';

export type TenantRestoreStartedData = {
  restoreId: string;
  tenantId: string;
  /** ISO instant, or null when the target is a position. */
  at: string | null;
  position: string | null;
  types: string[];
  ids: string[];
  planned: number;
  startedAt: string;
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

export type TenantRestoreEvent =
  { type: 'TenantRestoreStarted'; data: TenantRestoreStartedData } | { type: 'TenantRestoreCompleted'; data: TenantRestoreCompletedData };

export type TenantRestoreCommand =
  { type: 'StartTenantRestore'; data: TenantRestoreStartedData } | { type: 'CompleteTenantRestore'; data: TenantRestoreCompletedData };

export type TenantRestoreState =
  | { status: 'absent' }
  | ({ status: 'running' } & TenantRestoreStartedData)
  | ({ status: TenantRestoreOutcome } & TenantRestoreStartedData & { result: TenantRestoreCompletedData });

const asJson = <T>(data: T) => data as T & JsonObject;

export const tenantRestoreDecider: Decider<TenantRestoreState, TenantRestoreCommand, TenantRestoreEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide(command, state) {
    if (command.type === 'StartTenantRestore') {
      if (state.status !== 'absent')
        throw new RuleViolation('tenant_restore.exists', 'this restore id was already used', 'conflict', 'restoreId');
      return [{ type: 'TenantRestoreStarted', data: asJson(command.data) }];
    }
    if (state.status === 'absent') throw notFoundOf(TENANT_RESTORE_CATEGORY);
    if (state.status !== 'running') return [];
    return [{ type: 'TenantRestoreCompleted', data: asJson(command.data) }];
  },
  evolve(state, event) {
    if (event.type === 'TenantRestoreStarted') return { status: 'running', ...event.data };
    if (state.status === 'absent') return state;
    return { ...state, status: event.data.outcome, result: event.data };
  },
};
