// The tenant-restore record's decider: requested (queued) → started (running) → completed or failed; a
// record from before restores were queued (Started alone) still folds and finishes; a finished record
// takes no second outcome.
import { describe, expect, it } from 'vitest';
import {
  tenantRestoreDecider,
  type TenantRestoreEvent,
  type TenantRestoreRequestedData,
  type TenantRestoreStartedData,
} from '../../../src/domain/tenant-restores/index.js';
import { deciderSpec } from '../../support/decider-spec.js';

const { given, stateAfter } = deciderSpec(tenantRestoreDecider);
const target = { restoreId: 'r1', tenantId: 'acme', at: '2026-05-01T10:30:00.000Z', position: null, types: ['category'], ids: [] };
const requestedData: TenantRestoreRequestedData = { ...target, requestedAt: '2026-05-01T12:00:00.000Z' };
const startedData: TenantRestoreStartedData = { ...target, planned: 2, startedAt: '2026-05-01T12:01:00.000Z', planPosition: '5.1' };
const requested: TenantRestoreEvent = { type: 'TenantRestoreRequested', data: requestedData };
const started: TenantRestoreEvent = { type: 'TenantRestoreStarted', data: startedData };
const outcome = {
  outcome: 'completed' as const,
  archived: 0,
  restored: 2,
  unchanged: 0,
  failures: [],
  finishedAt: '2026-05-01T12:02:00.000Z',
};
const failure = { rule: 'tenant_restore.log_pruned', reason: 'pruned', finishedAt: '2026-05-01T12:02:00.000Z' };

describe('tenant restore record', () => {
  it('is queued once requested, and a second request of the same id is refused', () => {
    given().when({ type: 'RequestTenantRestore', data: requestedData }).then([requested]);
    expect(stateAfter([requested])).toMatchObject({
      status: 'queued',
      planned: null,
      startedAt: null,
      requestedAt: requestedData.requestedAt,
    });
    given(requested)
      .when({ type: 'RequestTenantRestore', data: requestedData })
      .thenRefuses('tenant_restore.exists', 'conflict', 'restoreId');
  });

  it('starts after its request, once, keeping when it was requested and the plan position', () => {
    given(requested).when({ type: 'StartTenantRestore', data: startedData }).then([started]);
    given(requested, started).when({ type: 'StartTenantRestore', data: startedData }).then([]);
    expect(stateAfter([requested, started])).toMatchObject({
      status: 'running',
      requestedAt: requestedData.requestedAt,
      planned: 2,
      planPosition: '5.1',
    });
  });

  it('folds and finishes a record from before restores were queued (Started, no Requested)', () => {
    const { planPosition: _none, ...legacyData } = startedData;
    const legacy: TenantRestoreEvent = { type: 'TenantRestoreStarted', data: legacyData };
    expect(stateAfter([legacy])).toMatchObject({ status: 'running', requestedAt: null, planPosition: null, planned: 2 });
    given(legacy)
      .when({ type: 'CompleteTenantRestore', data: outcome })
      .then([{ type: 'TenantRestoreCompleted', data: outcome }]);
  });

  it('fails from queued or running, and a finished record takes no second outcome', () => {
    given(requested)
      .when({ type: 'FailTenantRestore', data: failure })
      .then([{ type: 'TenantRestoreFailed', data: failure }]);
    const failed: TenantRestoreEvent = { type: 'TenantRestoreFailed', data: failure };
    expect(stateAfter([requested, started, failed])).toMatchObject({ status: 'failed', error: failure });
    given(requested, started, failed).when({ type: 'CompleteTenantRestore', data: outcome }).then([]);
    const completed: TenantRestoreEvent = { type: 'TenantRestoreCompleted', data: outcome };
    given(requested, started, completed).when({ type: 'FailTenantRestore', data: failure }).then([]);
    given(requested, started, completed)
      .when({ type: 'StartTenantRestore', data: startedData })
      .thenRefuses('tenant_restore.exists', 'conflict');
    given().when({ type: 'CompleteTenantRestore', data: outcome }).thenRefuses('tenant_restore.not_found', 'not_found');
  });
});
