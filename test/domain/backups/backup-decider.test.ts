// The backup aggregate: a run records each chunk once (a resumed run repeats nothing), ends completed,
// partially failed (some items) or failed (all items), and only a finished backup is deleted, validated
// or drilled.
import { describe, expect, it } from 'vitest';
import { backupDecider, type BackupChunk, type BackupEvent } from '../../../src/domain/backups/index.js';
import { deciderSpec } from '../../support/decider-spec.js';

const spec = deciderSpec(backupDecider);
const requested: BackupEvent = {
  type: 'BackupRequested',
  data: { backupId: 'b1', name: 'n', backupType: 'full', scope: {}, incremental: false, policyId: null, requestedBy: 'u' },
};
const started: BackupEvent = {
  type: 'BackupStarted',
  data: {
    parentBackupId: null,
    from: '0.0',
    to: '9.9',
    items: ['database', 'files'],
    location: 'x',
    encryption: null,
    startedAt: '2026-01-01T00:00:00.000Z',
  },
};
const chunk: BackupChunk = {
  item: 'database',
  name: 'database-000001.ndjson.gz',
  sha256: 'a'.repeat(64),
  bytes: 10,
  events: 5,
  records: 5,
  firstPosition: '1.1',
  lastPosition: '2.2',
};
const written: BackupEvent = { type: 'BackupChunkWritten', data: { chunk, cursor: { item: 'database', after: '2.2' } } };
const finish = { type: 'FinishBackup', data: { checksum: 'c', location: 'l', finishedAt: '2026-01-01T00:00:02.000Z' } } as const;

describe('backup decider', () => {
  it('records a chunk once; a resumed run keeps its first range', () => {
    spec.given(requested, started, written).when({ type: 'RecordChunk', data: written.data }).then([]);
    spec
      .given(requested, started)
      .when({ type: 'StartBackup', data: { ...started.data, to: '10.10' } } as never)
      .then([]);
  });

  it('ends completed with the totals, partially failed with the failed items, failed when every item failed', () => {
    spec
      .given(requested, started, written)
      .when(finish)
      .then([
        {
          type: 'BackupCompleted',
          data: { eventCount: 5, bytes: 10, checksum: 'c', location: 'l', durationMs: 2000, completedAt: finish.data.finishedAt },
        },
      ]);
    const filesFailed: BackupEvent = { type: 'BackupItemFailed', data: { item: 'files', reason: 'disk' } };
    expect(backupDecider.decide(finish, spec.stateAfter([requested, started, written, filesFailed]))[0]!.type).toBe(
      'BackupPartiallyFailed',
    );
    const dbFailed: BackupEvent = { type: 'BackupItemFailed', data: { item: 'database', reason: 's3 down' } };
    expect(backupDecider.decide(finish, spec.stateAfter([requested, started, filesFailed, dbFailed]))[0]).toMatchObject({
      type: 'BackupFailed',
      data: { reason: 'files: disk; database: s3 down' },
    });
  });

  it('refuses to delete, validate or drill a running backup; refuses a bad name', () => {
    spec
      .given(requested)
      .when({ type: 'DeleteBackup', data: { deletedAt: 'x' } })
      .thenRefuses('backup.running', 'conflict');
    spec
      .given(requested)
      .when({ type: 'StartRestoreDrill', data: { drillId: 'd', startedAt: 'x' } })
      .thenRefuses('backup.running', 'conflict');
    spec
      .given()
      .when({ type: 'RequestBackup', data: { ...(requested.data as never as object), name: ' \u0007 ' } } as never)
      .thenRefuses('backup.name.invalid', 'invalid', 'name');
  });

  it('tracks the last drill: started, then passed once; a second drill waits for the first', () => {
    const done: BackupEvent = {
      type: 'BackupCompleted',
      data: { eventCount: 5, bytes: 10, checksum: 'c', location: 'l', durationMs: 1, completedAt: 'x' },
    };
    const drill: BackupEvent = { type: 'RestoreDrillStarted', data: { drillId: 'd1', startedAt: '2026-01-01T00:00:00.000Z' } };
    spec
      .given(requested, started, done, drill)
      .when({ type: 'StartRestoreDrill', data: { drillId: 'd2', startedAt: 'x' } })
      .thenRefuses('backup.drill.running', 'conflict');
    spec
      .given(requested, started, done, drill)
      .when({ type: 'PassRestoreDrill', data: { drillId: 'd1', position: '9.9', tables: 3, finishedAt: '2026-01-01T00:00:05.000Z' } })
      .then([
        {
          type: 'RestoreDrillPassed',
          data: { drillId: 'd1', position: '9.9', tables: 3, finishedAt: '2026-01-01T00:00:05.000Z', durationMs: 5000 },
        },
      ]);
    expect(spec.stateAfter([requested, started, done, drill]).drill?.status).toBe('running');
  });

  it('records the start of a queued drill run once per run, and none for another or a finished drill', () => {
    const done: BackupEvent = {
      type: 'BackupCompleted',
      data: { eventCount: 5, bytes: 10, checksum: 'c', location: 'l', durationMs: 1, completedAt: 'x' },
    };
    const drill: BackupEvent = { type: 'RestoreDrillStarted', data: { drillId: 'd1', startedAt: '2026-01-01T00:00:00.000Z' } };
    const run = { drillId: 'd1', run: 1, startedAt: '2026-01-01T00:00:01.000Z' };
    spec
      .given(requested, started, done, drill)
      .when({ type: 'StartRestoreDrillRun', data: run })
      .then([{ type: 'RestoreDrillRunStarted', data: run }]);
    spec
      .given(requested, started, done, drill)
      .when({ type: 'StartRestoreDrillRun', data: { ...run, drillId: 'd2' } })
      .then([]);
    const passed: BackupEvent = {
      type: 'RestoreDrillPassed',
      data: { drillId: 'd1', position: '9.9', tables: 3, finishedAt: 'x', durationMs: 1 },
    };
    spec.given(requested, started, done, drill, passed).when({ type: 'StartRestoreDrillRun', data: run }).then([]);
  });
});
