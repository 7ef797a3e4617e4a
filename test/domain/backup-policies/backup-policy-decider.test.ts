// The BackupPolicy aggregate: given events, when a command, then events (or a refused rule); and a
// property: whatever runs, skips and changes happen, a recorded scheduled slot is never at or before the
// slot the schedule counted from, so no slot runs twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backupPolicyDecider,
  type BackupPolicyCommand,
  type BackupPolicyEvent,
  type BackupPolicySettings,
} from '../../../src/domain/backup-policies/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import { deciderSpec } from '../../support/decider-spec.js';

const ID = '5f0b7c2a-6f0e-4d7e-9a39-3f4f5e0f1c11';
const AT = '2026-03-02T10:30:00.000Z';
const settings: BackupPolicySettings = {
  name: 'Nightly',
  description: '',
  backupType: 'database',
  scope: { tenantId: 'acme' },
  schedule: { frequency: 'daily', time: '02:00' },
  retention: { days: 30, minCount: 7 },
  incremental: false,
  drillAfterBackup: true,
};
const created: BackupPolicyEvent = {
  type: 'BackupPolicyCreated',
  data: { ...settings, policyId: ID, enabled: true, since: AT, nextRunAt: '2026-03-03T02:00:00.000Z' },
};
const create = (overrides: Partial<BackupPolicySettings> = {}, enabled = true): BackupPolicyCommand => ({
  type: 'CreateBackupPolicy',
  data: { ...settings, ...overrides, policyId: ID, enabled, at: AT },
});
const run = (slot: string | null, trigger: 'schedule' | 'manual' = 'schedule', at = AT): BackupPolicyCommand => ({
  type: 'RecordBackupPolicyRun',
  data: { backupId: 'b1', trigger, slot, missed: 1, at },
});

const { given, stateAfter } = deciderSpec(backupPolicyDecider);

describe('BackupPolicy decider', () => {
  it('creates a policy with its next run, or none while disabled', () => {
    given()
      .when(create({ name: '  Nightly ' }))
      .then([created]);
    given()
      .when(create({}, false))
      .then([{ ...created, data: { ...created.data, enabled: false, nextRunAt: null } } as BackupPolicyEvent]);
    given(created).when(create()).thenRefuses('backup_policy.exists', 'conflict', 'policyId');
  });

  it('refuses impossible settings naming the field', () => {
    given()
      .when(create({ schedule: { frequency: 'daily', time: '25:00' } }))
      .thenRefuses('backup_policy.schedule.time', 'invalid', 'schedule.time');
    given()
      .when(create({ schedule: { frequency: 'cron', expression: '0 0 30 2 *' } }))
      .thenRefuses('backup_policy.schedule.impossible', 'invalid', 'schedule.expression');
    given()
      .when(create({ retention: { days: 0, minCount: 0 } }))
      .thenRefuses('backup_policy.retention.keeps_nothing', 'invalid', 'retention.minCount');
    given()
      .when(create({ backupType: 'everything' as never }))
      .thenRefuses('backup_policy.type.invalid', 'invalid', 'type');
    given()
      .when(create({ backupType: 'files', incremental: true }))
      .thenRefuses('backup_policy.incremental.files', 'invalid', 'incremental');
    given()
      .when(create({ name: ' ' }))
      .thenRefuses('backup_policy.name.invalid', 'invalid', 'name');
    given(created)
      .when({ type: 'UpdateBackupPolicy', data: { retention: { days: 0, minCount: 0 }, at: AT } })
      .thenRefuses('backup_policy.retention.keeps_nothing', 'invalid', 'retention.minCount');
  });

  it('a new schedule counts from the change; an unchanged one keeps its slot', () => {
    const later = '2026-03-03T01:30:00.000Z';
    given(created)
      .when({ type: 'UpdateBackupPolicy', data: { schedule: { frequency: 'daily', time: '01:00' }, at: later } })
      .then([
        {
          type: 'BackupPolicyUpdated',
          data: {
            ...settings,
            schedule: { frequency: 'daily', time: '01:00' },
            previousName: 'Nightly',
            since: later,
            nextRunAt: '2026-03-04T01:00:00.000Z',
          },
        },
      ]);
    given(created)
      .when({ type: 'UpdateBackupPolicy', data: { retention: { days: 7, minCount: 1 }, at: later } })
      .then([
        {
          type: 'BackupPolicyUpdated',
          data: {
            ...settings,
            retention: { days: 7, minCount: 1 },
            previousName: 'Nightly',
            since: AT,
            nextRunAt: '2026-03-03T02:00:00.000Z',
          },
        },
      ]);
    given(created)
      .when({ type: 'UpdateBackupPolicy', data: { name: 'Nightly', at: later } })
      .then([]);
  });

  it('enable counts from now (no catch-up of slots missed while disabled); disable and enable are idempotent', () => {
    const disabled: BackupPolicyEvent = { type: 'BackupPolicyDisabled', data: { disabledAt: AT } };
    const later = '2026-03-10T12:00:00.000Z';
    given(created, disabled)
      .when({ type: 'EnableBackupPolicy', data: { at: later } })
      .then([{ type: 'BackupPolicyEnabled', data: { since: later, nextRunAt: '2026-03-11T02:00:00.000Z' } }]);
    given(created)
      .when({ type: 'EnableBackupPolicy', data: { at: later } })
      .then([]);
    given(created, disabled)
      .when({ type: 'DisableBackupPolicy', data: { at: later } })
      .then([]);
    given(created, disabled).when(run('2026-03-03T02:00:00.000Z')).thenRefuses('backup_policy.disabled', 'conflict');
  });

  it('records a scheduled run once per slot; a manual run moves no slot', () => {
    const slot = '2026-03-03T02:00:00.000Z';
    const ran: BackupPolicyEvent = {
      type: 'BackupPolicyRunRecorded',
      data: { backupId: 'b1', trigger: 'schedule', slot, missed: 1, at: AT, since: slot, nextRunAt: '2026-03-04T02:00:00.000Z' },
    };
    given(created).when(run(slot)).then([ran]);
    given(created, ran).when(run(slot)).then([]);
    given(created)
      .when(run(null, 'manual'))
      .then([
        {
          type: 'BackupPolicyRunRecorded',
          data: { backupId: 'b1', trigger: 'manual', slot: null, missed: 1, at: AT, since: AT, nextRunAt: '2026-03-03T02:00:00.000Z' },
        },
      ]);
    given(created)
      .when({ type: 'SkipBackupPolicyRun', data: { slot, blockingBackupId: 'b0', at: AT } })
      .then([
        {
          type: 'BackupPolicyRunSkipped',
          data: { slot, blockingBackupId: 'b0', at: AT, reason: 'backup_running', since: slot, nextRunAt: '2026-03-04T02:00:00.000Z' },
        },
      ]);
  });

  it('a deleted policy is not found for every command', () => {
    const deleted: BackupPolicyEvent = { type: 'BackupPolicyDeleted', data: { name: 'Nightly', deletedAt: AT } };
    given(created)
      .when({ type: 'DeleteBackupPolicy', data: { at: AT } })
      .then([deleted]);
    for (const command of [run(null, 'manual'), { type: 'DeleteBackupPolicy', data: { at: AT } } as BackupPolicyCommand])
      given(created, deleted).when(command).thenRefuses('backup_policy.not_found', 'not_found');
  });

  it('property: no slot is recorded twice, whatever the order of runs, skips and changes', () => {
    // Few distinct hours, so that runs, restarts and repeats of one slot meet often.
    const hours = fc.integer({ min: 0, max: 5 });
    const step = fc.oneof(
      hours.map((h) => ({ kind: 'run' as const, h })),
      hours.map((h) => ({ kind: 'skip' as const, h })),
      hours.map((h) => ({ kind: 'reschedule' as const, h })),
      fc.constant({ kind: 'toggle' as const, h: 0 }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let state = stateAfter([created]);
        const recorded: string[] = [];
        for (const { kind, h } of steps) {
          const slot = new Date(Date.parse('2026-03-03T00:00:00.000Z') + h * 3_600_000).toISOString();
          const command: BackupPolicyCommand =
            kind === 'run'
              ? run(slot)
              : kind === 'skip'
                ? { type: 'SkipBackupPolicyRun', data: { slot, blockingBackupId: 'b0', at: slot } }
                : kind === 'reschedule'
                  ? { type: 'UpdateBackupPolicy', data: { schedule: { frequency: 'hourly', minute: h % 60 }, at: slot } }
                  : { type: state.status === 'active' && state.enabled ? 'DisableBackupPolicy' : 'EnableBackupPolicy', data: { at: slot } };
          let events: BackupPolicyEvent[] = [];
          try {
            events = backupPolicyDecider.decide(command, state);
          } catch (error) {
            expect(error).toBeInstanceOf(RuleViolation);
          }
          for (const event of events) {
            if (event.type === 'BackupPolicyRunRecorded' || event.type === 'BackupPolicyRunSkipped') {
              expect(recorded).not.toContain(event.data.slot);
              recorded.push(event.data.slot!);
            }
            state = backupPolicyDecider.evolve(state, event);
          }
        }
      }),
    );
  });
});
