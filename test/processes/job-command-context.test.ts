// The command contexts jobs issue commands with. Their command ids are idempotency keys already persisted in
// event stores (a retried job finds its first result by them), so each feature's derivation is pinned here to
// the exact values it produced before the contexts shared one builder: a changed id would act twice.
import { describe, expect, it } from 'vitest';
import { tenantRestoreRecordContext, tenantRestoreStepContext } from '../../src/commands/tenant-restores/tenant-restore.js';
import type { RecordedEvent } from '../../src/ports/event-store.js';
import { backupStepContext } from '../../src/processes/backups/backup-runner.js';
import { schedulerContext } from '../../src/processes/backup-scheduler/backup-scheduler-tick.js';
import { batchWorkerContext } from '../../src/processes/batches/batch-process.js';
import { reconcilerContext } from '../../src/processes/deployments/deployment-steps.js';
import { teardownContext } from '../../src/processes/deployments/environment-teardown.js';
import { processCommandContext } from '../../src/processes/process-manager.js';
import { drillRecordContext } from '../../src/processes/restores/drill-recorder.js';

const T = 'acme';
const EVENT_ID = '0b8f3c2e-6c1a-4a51-9d57-3f1f1d1e2a10';
const event = (metadata: RecordedEvent['metadata']): RecordedEvent => ({
  id: EVENT_ID,
  type: 'Something',
  streamId: 'thing-1',
  revision: 0n,
  position: { commit: 1n, prepare: 1n },
  data: {},
  metadata,
  recordedAt: new Date(0),
});
/** A user's request that a job carries on (a tenant restore, a drill). */
const requested = { tenantId: T, userId: 'alice', commandId: 'c0', correlationId: 'corr-u', causationId: 'cause-u' };

describe('job command contexts keep the command ids they had', () => {
  it('a process manager reacting to an event', () => {
    expect(processCommandContext('batches', event({ tenantId: T, correlationId: 'corr-1' }), 'k')).toStrictEqual({
      tenantId: T,
      userId: 'process:batches',
      commandId: '7065e53e-8609-50de-b8d1-1dc87fe2dacc',
      correlationId: 'corr-1',
      causationId: EVENT_ID,
    });
    expect(processCommandContext('batches', event({ tenantId: T }))).toStrictEqual({
      tenantId: T,
      userId: 'process:batches',
      commandId: '81a8a990-6a3b-5a0d-a063-29ba241f1a54',
      correlationId: EVENT_ID,
      causationId: EVENT_ID,
    });
  });

  it('the batch worker and the deployment reconciler (ids given as they are)', () => {
    expect(batchWorkerContext(T, 'b1', 'begin:b1')).toStrictEqual({
      tenantId: T,
      userId: 'process:batches',
      commandId: 'begin:b1',
      correlationId: 'b1',
    });
    expect(reconcilerContext(T, 'd1', 'cmd-1')).toStrictEqual({
      tenantId: T,
      userId: 'process:deployments',
      commandId: 'cmd-1',
      correlationId: 'd1',
    });
  });

  it("an environment's teardown", () => {
    expect(teardownContext(T, 'env-1', 'environment_teardown.job-1', 'delete:d1')).toStrictEqual({
      tenantId: T,
      userId: 'process:environment_teardown',
      commandId: '8e4d19a7-c52a-565e-91d9-4c49bf279e0d',
      correlationId: 'env-1',
    });
  });

  it("a backup run's steps", () => {
    const run = { backupId: 'bk1', tenantId: T, causationId: 'ev1', correlationId: 'corr-b', lastAttempt: false };
    expect(backupStepContext(run, 'publish')).toStrictEqual({
      tenantId: T,
      userId: 'process:backups',
      commandId: 'ce19a453-a1e4-5a24-9b3b-16dc752f3d20',
      correlationId: 'corr-b',
      causationId: 'ev1',
    });
  });

  it('the backup scheduler, with and without a correlation', () => {
    expect(schedulerContext(T, 'run:p1:2026-01-01T00:00:00.000Z')).toStrictEqual({
      tenantId: T,
      userId: 'process:backup_scheduler',
      commandId: '24e12d83-ac6f-57fe-b98c-d24a014fc9af',
      correlationId: '24e12d83-ac6f-57fe-b98c-d24a014fc9af',
    });
    expect(schedulerContext(T, 'drill:bk1', 'corr-s')).toStrictEqual({
      tenantId: T,
      userId: 'process:backup_scheduler',
      commandId: 'd5e1a239-da90-5bf8-85a1-9b1526d68d19',
      correlationId: 'corr-s',
    });
  });

  it('a drill and a tenant restore, on behalf of the user who asked', () => {
    expect(drillRecordContext(requested, 'dr1', 'finish')).toStrictEqual({
      tenantId: T,
      userId: 'alice',
      commandId: 'dr1:finish',
      correlationId: 'corr-u',
      causationId: 'dr1',
    });
    expect(tenantRestoreRecordContext(requested, 'r1', 'start')).toStrictEqual({
      tenantId: T,
      userId: 'alice',
      commandId: '1732464d-0bd2-5630-bf35-5adf478b5c97',
      correlationId: 'corr-u',
      causationId: 'cause-u',
    });
    expect(tenantRestoreStepContext(requested, 'r1', 'template-1:status:active', 'ev9')).toStrictEqual({
      tenantId: T,
      userId: 'alice',
      commandId: '3802a8ee-dee4-5b49-9f6a-6880f7ae6e36',
      correlationId: 'r1',
      causationId: 'ev9',
    });
  });
});
