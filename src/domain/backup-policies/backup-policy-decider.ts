// The backup policy aggregate: what to back up, when (a schedule), what to keep (retention), and the runs
// the scheduler or a user started. Pure: the command layer passes the clock's now in each command, checks
// that the policy's last backup is not still running, and requests the backup itself.
import type { Decider } from '../decider.js';
import { RuleViolation } from '../rule-violation.js';
import { notFoundOf } from '../not-found.js';
import { BACKUP_POLICY_CATEGORY } from './backup-policy-streams.js';
import { BACKUP_TYPES } from '../backups/backup-format.js';
import { isUuid } from '../uuid.js';
import { BACKUP_POLICY_DESCRIPTION_MAX, BACKUP_POLICY_NAME_MAX, type BackupPolicyCommand } from './backup-policy-commands.js';
import type { BackupPolicyEvent, BackupPolicySettings } from './backup-policy-events.js';
import { assertValidRetention } from './backup-retention.js';
import { assertValidSchedule, nextRunAfter, SCHEDULE_FREQUENCIES, type BackupSchedule } from './backup-schedule.js';

export type BackupPolicyState =
  | { readonly status: 'absent' }
  | (BackupPolicySettings & {
      readonly status: 'active' | 'deleted';
      readonly policyId: string;
      readonly enabled: boolean;
      /** The instant the schedule counts from (see backup-policy-events.ts). */
      readonly since: string;
      readonly nextRunAt: string | null;
      readonly lastBackupId: string | null;
      readonly lastRunAt: string | null;
      readonly lastSlot: string | null;
    });

export type ExistingBackupPolicy = Exclude<BackupPolicyState, { status: 'absent' }>;

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const NAME_PATTERN = /^[^\u0000-\u001f\u007f]+$/;

const invalid = (rule: string, message: string, field: string) => new RuleViolation(`backup_policy.${rule}`, message, 'invalid', field);

/** Refuses settings that cannot run, naming the field; returns them normalized (name trimmed). */
export function validBackupPolicySettings(settings: BackupPolicySettings, at: Date): BackupPolicySettings {
  const name = settings.name.trim();
  if (name.length === 0 || name.length > BACKUP_POLICY_NAME_MAX || !NAME_PATTERN.test(name))
    throw invalid('name.invalid', `name must be 1–${BACKUP_POLICY_NAME_MAX} characters without control characters`, 'name');
  if (settings.description.length > BACKUP_POLICY_DESCRIPTION_MAX)
    throw invalid('description.length', `description must be at most ${BACKUP_POLICY_DESCRIPTION_MAX} characters`, 'description');
  if (!BACKUP_TYPES.includes(settings.backupType)) throw invalid('type.invalid', `type must be one of ${BACKUP_TYPES.join(', ')}`, 'type');
  if (settings.backupType === 'files' && settings.incremental)
    throw invalid('incremental.files', 'a files backup is always full', 'incremental');
  if (!SCHEDULE_FREQUENCIES.includes(settings.schedule.frequency))
    throw invalid('schedule.frequency', `frequency must be one of ${SCHEDULE_FREQUENCIES.join(', ')}`, 'schedule.frequency');
  assertValidSchedule(settings.schedule, at);
  assertValidRetention(settings.retention);
  return { ...settings, name };
}

export function assertValidBackupPolicyId(policyId: string): void {
  if (!isUuid(policyId)) throw invalid('id.format', 'policyId must be a UUID', 'policyId');
}

export function assertBackupPolicyExists(state: BackupPolicyState): asserts state is ExistingBackupPolicy {
  if (state.status !== 'active') throw notFoundOf(BACKUP_POLICY_CATEGORY);
}

const sameSchedule = (a: BackupSchedule, b: BackupSchedule) => JSON.stringify(a) === JSON.stringify(b);
/** A schedule restarted at `at` still never goes back to a slot it has run (a clock that stepped back). */
const restartAt = (at: string, state: ExistingBackupPolicy) =>
  state.lastSlot !== null && Date.parse(state.lastSlot) > Date.parse(at) ? state.lastSlot : at;
const nextAfter = (schedule: BackupSchedule, since: string) => nextRunAfter(schedule, new Date(since)).toISOString();

function decide(command: BackupPolicyCommand, state: BackupPolicyState): BackupPolicyEvent[] {
  if (command.type === 'CreateBackupPolicy') {
    if (state.status !== 'absent')
      throw new RuleViolation('backup_policy.exists', 'this backup policy exists already', 'conflict', 'policyId');
    const { policyId, enabled, at, ...settings } = command.data;
    assertValidBackupPolicyId(policyId);
    const valid = validBackupPolicySettings(settings, new Date(at));
    return [
      {
        type: 'BackupPolicyCreated',
        data: { ...valid, policyId, enabled, since: at, nextRunAt: enabled ? nextAfter(valid.schedule, at) : null },
      },
    ];
  }
  assertBackupPolicyExists(state);
  switch (command.type) {
    case 'UpdateBackupPolicy': {
      const { at, ...changes } = command.data;
      const current: BackupPolicySettings = {
        name: state.name,
        description: state.description,
        backupType: state.backupType,
        scope: state.scope,
        schedule: state.schedule,
        retention: state.retention,
        incremental: state.incremental,
        drillAfterBackup: state.drillAfterBackup,
      };
      const next = validBackupPolicySettings({ ...current, ...changes }, new Date(at));
      if (JSON.stringify(next) === JSON.stringify(current)) return [];
      // A new schedule counts from now: changing 02:00 to 01:00 at 01:30 does not run at once.
      const since = sameSchedule(next.schedule, state.schedule) ? state.since : restartAt(at, state);
      return [
        {
          type: 'BackupPolicyUpdated',
          data: { ...next, previousName: state.name, since, nextRunAt: state.enabled ? nextAfter(next.schedule, since) : null },
        },
      ];
    }
    case 'EnableBackupPolicy':
      // Slots missed while disabled are not caught up: the schedule counts from now.
      if (state.enabled) return [];
      return [
        {
          type: 'BackupPolicyEnabled',
          data: { since: restartAt(command.data.at, state), nextRunAt: nextAfter(state.schedule, restartAt(command.data.at, state)) },
        },
      ];
    case 'DisableBackupPolicy':
      return state.enabled ? [{ type: 'BackupPolicyDisabled', data: { disabledAt: command.data.at } }] : [];
    case 'DeleteBackupPolicy':
      return [{ type: 'BackupPolicyDeleted', data: { name: state.name, deletedAt: command.data.at } }];
    case 'RecordBackupPolicyRun': {
      const { slot } = command.data;
      if (command.data.trigger === 'schedule') {
        if (slot === null) throw invalid('run.slot', 'a scheduled run names its slot', 'slot');
        if (!state.enabled) throw new RuleViolation('backup_policy.disabled', 'the policy is disabled', 'conflict');
        if (Date.parse(slot) <= Date.parse(state.since)) return []; // that slot is behind the schedule already
      }
      const since = command.data.trigger === 'schedule' && slot ? slot : state.since;
      return [
        {
          type: 'BackupPolicyRunRecorded',
          data: { ...command.data, since, nextRunAt: state.enabled ? nextAfter(state.schedule, since) : null },
        },
      ];
    }
    case 'SkipBackupPolicyRun': {
      const { slot } = command.data;
      if (!state.enabled || Date.parse(slot) <= Date.parse(state.since)) return [];
      return [
        {
          type: 'BackupPolicyRunSkipped',
          data: { ...command.data, reason: 'backup_running', since: slot, nextRunAt: nextAfter(state.schedule, slot) },
        },
      ];
    }
    default: {
      const unknownCommand: never = command;
      throw new Error(`unknown command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

function evolve(state: BackupPolicyState, event: BackupPolicyEvent): BackupPolicyState {
  if (event.type === 'BackupPolicyCreated') {
    const { policyId, enabled, since, nextRunAt, ...settings } = event.data;
    return { ...settings, status: 'active', policyId, enabled, since, nextRunAt, lastBackupId: null, lastRunAt: null, lastSlot: null };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'BackupPolicyUpdated': {
      const { previousName: _previous, ...rest } = event.data;
      return { ...state, ...rest };
    }
    case 'BackupPolicyEnabled':
      return { ...state, enabled: true, since: event.data.since, nextRunAt: event.data.nextRunAt };
    case 'BackupPolicyDisabled':
      return { ...state, enabled: false, nextRunAt: null };
    case 'BackupPolicyDeleted':
      return { ...state, status: 'deleted', enabled: false, nextRunAt: null };
    case 'BackupPolicyRunRecorded':
      return {
        ...state,
        lastBackupId: event.data.backupId,
        lastRunAt: event.data.at,
        lastSlot: event.data.slot ?? state.lastSlot,
        since: event.data.since,
        nextRunAt: event.data.nextRunAt,
      };
    case 'BackupPolicyRunSkipped':
      return { ...state, lastSlot: event.data.slot, since: event.data.since, nextRunAt: event.data.nextRunAt };
    default: {
      // Every event of the union is handled above (checked here); one this version does not know
      // (written by a newer one) changes nothing, so a fold never fails on it.
      const unknownEvent: never = event;
      void unknownEvent;
      return state;
    }
  }
}

export const backupPolicyDecider: Decider<BackupPolicyState, BackupPolicyCommand, BackupPolicyEvent> = {
  initialState: () => ({ status: 'absent' }),
  decide,
  evolve,
};
