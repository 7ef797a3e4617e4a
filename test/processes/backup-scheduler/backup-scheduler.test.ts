// The backup scheduler with an injected clock on a real event store (PGlite, and PostgreSQL when
// available): a due slot starts exactly one backup however often its tick is delivered; five slots missed
// during downtime collapse into one catch-up run; a backup still running makes the next slot skip (and a
// manual run answer 409); after a success, retention deletes exactly the old backups no kept incremental
// needs, through the backups' own delete command.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupPolicy, runBackupPolicy } from '../../../src/commands/backup-policies/index.js';
import { loadBackup, runBackupCommand } from '../../../src/commands/backups/index.js';
import type { CommandDeps } from '../../../src/commands/handle-command.js';
import type { BackupSchedule, RetainedBackup, RetentionPolicy } from '../../../src/domain/backup-policies/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import type { JsonObject } from '../../../src/domain/json.js';
import { afterPolicyBackup, rearmOverdueTicks, runSchedulerTick } from '../../../src/processes/backup-scheduler/index.js';
import { backupPolicyProjector } from '../../../src/projections/backup-policies/backup-policy-projector.js';
import { overduePolicies } from '../../../src/projections/backup-policies/backup-policy-queries.js';
import { liveSchema } from '../../../src/projections/projector.js';
import { runBackup } from '../../../src/processes/backups/backup-runner.js';
import { createBackupStack, contextOf, type BackupStack } from '../../support/backup-stack.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { idOfStream } from '../../../src/domain/tenant-streams.js';

const postgres = postgresService();

function suite(label: string, databaseUrl: () => Promise<string | undefined>) {
  describe(label, () => {
    let stack: BackupStack;
    let now = new Date('2026-03-02T10:30:00.000Z');
    const clock = () => now;
    let commands: CommandDeps;
    const rearmed: { jobId: string; payload: JsonObject; delayMs: number | undefined }[] = [];
    const queue = {
      enqueue: async (_queue: string, jobId: string, payload: JsonObject, options?: { delayMs?: number }) => {
        rearmed.push({ jobId, payload, delayMs: options?.delayMs });
      },
    };

    beforeAll(async () => {
      const url = await databaseUrl();
      stack = await createBackupStack(url ? { databaseUrl: url } : {});
      commands = { eventStore: stack.eventStore, clock };
    }, 60_000);
    afterAll(async () => stack?.close());

    async function policy(
      tenantId: string,
      schedule: BackupSchedule,
      retention: RetentionPolicy = { days: 30, minCount: 3 },
      incremental = false,
    ) {
      const policyId = randomUUID();
      await createBackupPolicy(commands, contextOf(tenantId), {
        policyId,
        name: `policy ${policyId}`,
        description: '',
        backupType: 'database',
        scope: { tenantId },
        schedule,
        retention,
        incremental,
        drillAfterBackup: false,
        enabled: true,
      });
      return policyId;
    }

    /** The backups the store holds for a policy, oldest first. */
    async function policyBackups(policyId: string) {
      const events = await stack.readAllEvents();
      return events.filter((e) => e.type === 'BackupRequested' && e.data.policyId === policyId).map((e) => String(e.data.backupId));
    }
    const runsOf = async (policyId: string) =>
      (await stack.readAllEvents()).filter(
        (e) => idOfStream('backuppolicy', e.streamId) === policyId && e.type.startsWith('BackupPolicyRun'),
      );

    const finish = async (tenantId: string, backupId: string) =>
      runBackup(stack.runner(), { backupId, tenantId, causationId: backupId, correlationId: backupId, lastAttempt: true });

    it('a due slot starts exactly one backup, however often its tick arrives', async () => {
      now = new Date('2026-03-02T10:30:00.000Z');
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      const policyId = await policy(tenantId, { frequency: 'hourly', minute: 0 });
      now = new Date('2026-03-02T10:59:59.000Z');
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('early');
      expect(rearmed.at(-1)).toMatchObject({ payload: { slot: '2026-03-02T11:00:00.000Z' }, delayMs: 1000 });
      expect(await policyBackups(policyId)).toEqual([]);

      now = new Date('2026-03-02T11:00:02.000Z');
      const ticks = await Promise.allSettled([1, 2, 3].map(() => runSchedulerTick({ commands, queue }, { policyId, tenantId })));
      expect(ticks.filter((t) => t.status === 'fulfilled' && t.value === 'started').length).toBeGreaterThanOrEqual(1);
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('early');
      const backups = await policyBackups(policyId);
      expect(backups).toHaveLength(1);
      const runs = await runsOf(policyId);
      expect(runs.map((r) => [r.type, r.data.slot, r.data.backupId])).toEqual([
        ['BackupPolicyRunRecorded', '2026-03-02T11:00:00.000Z', backups[0]],
      ]);
    });

    it('after downtime of five slots, catches up once for the latest one', async () => {
      now = new Date('2026-03-02T10:30:00.000Z');
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      const policyId = await policy(tenantId, { frequency: 'hourly', minute: 0 });
      now = new Date('2026-03-02T15:20:00.000Z'); // 11:00 … 15:00 missed
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('started');
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('early');
      const runs = await runsOf(policyId);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.data).toMatchObject({ slot: '2026-03-02T15:00:00.000Z', missed: 5, nextRunAt: '2026-03-02T16:00:00.000Z' });
      expect(await policyBackups(policyId)).toHaveLength(1);
    });

    it('a backup still running skips the next slot and refuses a manual run; once finished, the following slot runs', async () => {
      now = new Date('2026-03-02T10:30:00.000Z');
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      const policyId = await policy(tenantId, { frequency: 'hourly', minute: 0 });
      now = new Date('2026-03-02T11:00:01.000Z');
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('started');
      const [first] = await policyBackups(policyId);
      expect((await loadBackup(commands, tenantId, first!)).state.status).toBe('running');

      now = new Date('2026-03-02T12:00:01.000Z');
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('skipped');
      const manual = runBackupPolicy(commands, contextOf(tenantId), { policyId }, { trigger: 'manual' });
      await expect(manual).rejects.toThrow(RuleViolation);
      await expect(manual).rejects.toMatchObject({ rule: 'backup_policy.run.running', kind: 'conflict' });
      expect(await policyBackups(policyId)).toHaveLength(1);

      await finish(tenantId, first!);
      now = new Date('2026-03-02T13:00:01.000Z');
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('started');
      const runs = await runsOf(policyId);
      expect(runs.map((r) => [r.type, r.data.slot])).toEqual([
        ['BackupPolicyRunRecorded', '2026-03-02T11:00:00.000Z'],
        ['BackupPolicyRunSkipped', '2026-03-02T12:00:00.000Z'],
        ['BackupPolicyRunRecorded', '2026-03-02T13:00:00.000Z'],
      ]);
      expect(runs[1]!.data.blockingBackupId).toBe(first);
      expect(await policyBackups(policyId)).toHaveLength(2);
    });

    it('after a success, retention deletes the old backups and keeps the parents of a kept incremental', async () => {
      now = new Date('2026-03-02T10:30:00.000Z');
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      await stack.seed(tenantId, 30, 2);
      const policyId = await policy(tenantId, { frequency: 'daily', time: '02:00' }, { days: 3, minCount: 1 }, true);
      // A chain per run: F1 ← I1, then F2 ← I2 ← I3 (I3 the one that just completed).
      const ids: string[] = [];
      for (const incremental of [false, true, false, true, true]) {
        ids.push(await stack.backup(tenantId, { name: 'r', type: 'database', scope: { tenantId }, incremental, policyId }));
        await stack.seed(tenantId, 5, 1);
      }
      const [f1, i1, f2, i2, i3] = ids as [string, string, string, string, string];
      const parents = await Promise.all(
        ids.map(async (id) => (await loadBackup(commands, tenantId, id)).state.started?.parentBackupId ?? null),
      );
      expect(parents).toEqual([null, f1, null, f2, i2]);
      const ageDays = [10, 9, 5, 4, 0];
      const retained: RetainedBackup[] = ids.map((backupId, i) => ({
        backupId,
        completedAt: new Date(now.getTime() - ageDays[i]! * 86_400_000).toISOString(),
        valid: true,
        parentId: parents[i]!,
      }));
      const outcome = await afterPolicyBackup({ commands, retainedBackups: async () => retained }, { backupId: i3, tenantId });
      expect(outcome.deleted).toEqual([f1, i1]);
      const deleted = await Promise.all(ids.map(async (id) => (await loadBackup(commands, tenantId, id)).state.deleted));
      expect(deleted).toEqual([true, true, false, false, false]);
      // Delivered again: nothing more goes.
      const again = await afterPolicyBackup({ commands, retainedBackups: async () => retained }, { backupId: i3, tenantId });
      expect(again.deleted).toEqual([]);
      expect(f2).toBeDefined();
    });

    it('with drillAfterBackup, starts one restore drill of the new backup and runs it, also when re-delivered', async () => {
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      await stack.seed(tenantId, 5, 1);
      const policyId = randomUUID();
      await createBackupPolicy(commands, contextOf(tenantId), {
        policyId,
        name: 'drilled',
        description: '',
        backupType: 'database',
        scope: { tenantId },
        schedule: { frequency: 'daily', time: '02:00' },
        retention: { days: 30, minCount: 3 },
        incremental: false,
        drillAfterBackup: true,
        enabled: true,
      });
      const backupId = await stack.backup(tenantId, { name: 'd', type: 'database', scope: { tenantId }, policyId });
      const drills: string[] = [];
      const deps = {
        commands,
        retainedBackups: async () => [],
        runDrill: async (_c: unknown, id: string, drillId: string) => void drills.push(`${id}:${drillId}`),
      };
      const first = await afterPolicyBackup(deps, { backupId, tenantId });
      const second = await afterPolicyBackup(deps, { backupId, tenantId });
      expect(first.drillId).toBeDefined();
      expect(second.drillId).toBe(first.drillId);
      expect(drills).toEqual([`${backupId}:${first.drillId}`]);
      expect((await loadBackup(commands, tenantId, backupId)).state.drill).toMatchObject({ drillId: first.drillId, status: 'running' });
    });

    it('a lost tick is re-armed from the read model once the policy is overdue', async () => {
      now = new Date('2026-03-02T10:30:00.000Z');
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      const policyId = await policy(tenantId, { frequency: 'hourly', minute: 0 });
      const project = async () => {
        await backupPolicyProjector.createSchema(stack.db.kysely, liveSchema('backup_policies'));
        const events = (await stack.readAllEvents()).filter((e) => idOfStream('backuppolicy', e.streamId) === policyId);
        await stack.db.kysely
          .withSchema(liveSchema('backup_policies'))
          .deleteFrom('backup_policies')
          .where('policy_id', '=', policyId)
          .execute();
        await backupPolicyProjector.apply(stack.db.kysely.withSchema(liveSchema('backup_policies')), events);
      };
      await project();
      const options = { graceMs: 120_000, intervalMs: 60_000 };
      const deps = {
        queue,
        clock,
        overduePolicies: async (before: Date) => (await overduePolicies(stack.db.kysely, before)).filter((p) => p.policyId === policyId),
      };
      now = new Date('2026-03-02T11:01:00.000Z'); // due, but within the grace: the delayed tick is expected to run
      expect(await rearmOverdueTicks(deps, options)).toBe(0);
      now = new Date('2026-03-02T11:05:00.000Z');
      const before = rearmed.length;
      expect(await rearmOverdueTicks(deps, options)).toBe(1);
      expect(rearmed.slice(before)).toEqual([
        expect.objectContaining({ payload: { action: 'tick', policyId, tenantId, slot: '2026-03-02T11:00:00.000Z' } }),
      ]);
      expect(await runSchedulerTick({ commands, queue }, { policyId, tenantId })).toBe('started');
      await project();
      expect(await rearmOverdueTicks(deps, options)).toBe(0);
    });

    it('ignores backups no policy started, and does nothing for a policy deleted since', async () => {
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      await stack.seed(tenantId, 5, 1);
      const loose = await stack.backup(tenantId, { name: 'loose', type: 'database', scope: { tenantId } });
      expect(await afterPolicyBackup({ commands, retainedBackups: async () => [] }, { backupId: loose, tenantId })).toEqual({
        deleted: [],
      });
      const policyId = await policy(tenantId, { frequency: 'daily', time: '02:00' }, { days: 0, minCount: 1 });
      const old = await stack.backup(tenantId, { name: 'old', type: 'database', scope: { tenantId }, policyId });
      const latest = await stack.backup(tenantId, { name: 'new', type: 'database', scope: { tenantId }, policyId });
      await runBackupCommand(commands, contextOf(tenantId), policyId, {
        type: 'DeleteBackup',
        data: { deletedAt: now.toISOString() },
      }).catch(() => undefined);
      const { deleteBackupPolicy } = await import('../../../src/commands/backup-policies/index.js');
      await deleteBackupPolicy(commands, contextOf(tenantId), { policyId });
      const retained = [old, latest].map((backupId, i) => ({
        backupId,
        completedAt: new Date(now.getTime() - (1 - i) * 86_400_000).toISOString(),
        valid: true,
        parentId: null,
      }));
      expect(await afterPolicyBackup({ commands, retainedBackups: async () => retained }, { backupId: latest, tenantId })).toEqual({
        deleted: [],
      });
      expect((await loadBackup(commands, tenantId, old)).state.deleted).toBe(false);
    });
  });
}

suite('PGlite', async () => undefined);
describe.skipIf(!postgres.url)('on PostgreSQL', () => {
  suite('PostgreSQL', async () => createTestDatabase(postgres.url!));
});
