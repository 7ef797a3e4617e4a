// When a backup policy runs (all times UTC): hourly at a minute, daily at HH:MM, weekly on a day at HH:MM,
// monthly on a day at HH:MM (a month without that day runs on its last day), or a cron expression. Pure:
// the scheduler passes the instants in. Impossible schedules (25:00, a cron that never fires such as
// Feb 30) are refused naming the field.
import { Cron } from 'croner';
import { RuleViolation } from '../rule-violation.js';

export const SCHEDULE_FREQUENCIES = ['hourly', 'daily', 'weekly', 'monthly', 'cron'] as const;

export type BackupSchedule =
  | { readonly frequency: 'hourly'; readonly minute: number }
  | { readonly frequency: 'daily'; readonly time: string }
  | { readonly frequency: 'weekly'; readonly dayOfWeek: number; readonly time: string }
  | { readonly frequency: 'monthly'; readonly dayOfMonth: number; readonly time: string }
  | { readonly frequency: 'cron'; readonly expression: string };

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
/** A cron expression must fire within this many years to be possible (Feb 29 fires every 4). */
const CRON_HORIZON_YEARS = 8;

const invalid = (field: string, rule: string, message: string) =>
  new RuleViolation(`backup_policy.${rule}`, message, 'invalid', `schedule.${field}`);

function timeOf(text: string): { hour: number; minute: number } {
  const match = TIME.exec(text);
  if (!match) throw invalid('time', 'schedule.time', `time must be HH:MM between 00:00 and 23:59 (UTC), not ${JSON.stringify(text)}`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

// Parsed expressions, memoized (a catch-up walks many slots of one expression); bounded.
const parsed = new Map<string, Cron>();

function cronOf(expression: string): Cron {
  const known = parsed.get(expression);
  if (known) return known;
  if (expression.length > 200) throw invalid('expression', 'schedule.expression', 'a cron expression is at most 200 characters');
  try {
    const cron = new Cron(expression, { paused: true, timezone: 'UTC' });
    if (parsed.size >= 256) parsed.clear();
    parsed.set(expression, cron);
    return cron;
  } catch (error) {
    throw invalid('expression', 'schedule.expression', `not a cron expression: ${(error as Error).message}`);
  }
}

/** Throws a RuleViolation naming the field for a schedule that cannot run. */
export function assertValidSchedule(schedule: BackupSchedule, reference: Date): void {
  switch (schedule.frequency) {
    case 'hourly':
      if (!Number.isInteger(schedule.minute) || schedule.minute < 0 || schedule.minute > 59)
        throw invalid('minute', 'schedule.minute', 'minute must be a whole number from 0 to 59');
      return;
    case 'weekly':
      if (!Number.isInteger(schedule.dayOfWeek) || schedule.dayOfWeek < 0 || schedule.dayOfWeek > 6)
        throw invalid('dayOfWeek', 'schedule.day_of_week', 'dayOfWeek must be 0 (Sunday) to 6 (Saturday)');
      timeOf(schedule.time);
      return;
    case 'monthly':
      if (!Number.isInteger(schedule.dayOfMonth) || schedule.dayOfMonth < 1 || schedule.dayOfMonth > 31)
        throw invalid('dayOfMonth', 'schedule.day_of_month', 'dayOfMonth must be 1 to 31 (months without it run on their last day)');
      timeOf(schedule.time);
      return;
    case 'daily':
      timeOf(schedule.time);
      return;
    case 'cron': {
      const next = cronOf(schedule.expression).nextRun(reference);
      const horizon = new Date(reference);
      horizon.setUTCFullYear(horizon.getUTCFullYear() + CRON_HORIZON_YEARS);
      if (!next || next > horizon)
        throw invalid(
          'expression',
          'schedule.impossible',
          `the cron expression ${JSON.stringify(schedule.expression)} never fires (e.g. February 30)`,
        );
    }
  }
}

/** The shortest gap between two runs of one policy unless configured otherwise (BACKUP_POLICY_MIN_INTERVAL_SECONDS). */
export const DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS = 300;
/** Consecutive slots whose gaps are checked: enough for every regular schedule, bounded for a cron list. */
const INTERVAL_SLOTS_CHECKED = 100;

/**
 * Refuses a schedule whose runs come closer than `minIntervalSeconds` (a per-second cron would start a
 * backup every second on the backup worker every tenant shares), naming the field. Checked over the next
 * INTERVAL_SLOTS_CHECKED slots after `reference`.
 */
export function assertMinimumInterval(schedule: BackupSchedule, reference: Date, minIntervalSeconds: number): void {
  if (!SCHEDULE_FREQUENCIES.includes(schedule.frequency)) return; // refused as such by validBackupPolicySettings
  const field = schedule.frequency === 'cron' ? 'expression' : 'frequency';
  let previous = nextRunAfter(schedule, reference);
  for (let checked = 0; checked < INTERVAL_SLOTS_CHECKED; checked++) {
    const next = nextRunAfter(schedule, previous);
    const gapSeconds = (next.getTime() - previous.getTime()) / 1000;
    if (gapSeconds < minIntervalSeconds)
      throw invalid(
        field,
        'schedule.too_frequent',
        `the schedule runs ${gapSeconds} s apart (at ${previous.toISOString()} and ${next.toISOString()}); runs must be at least ${minIntervalSeconds} s apart`,
      );
    previous = next;
  }
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/** The first slot strictly after `after`. */
export function nextRunAfter(schedule: BackupSchedule, after: Date): Date {
  const t = after.getTime();
  switch (schedule.frequency) {
    case 'hourly': {
      const slot = new Date(t);
      slot.setUTCMinutes(schedule.minute, 0, 0);
      return slot.getTime() > t ? slot : new Date(slot.getTime() + 3_600_000);
    }
    case 'daily': {
      const { hour, minute } = timeOf(schedule.time);
      const slot = new Date(Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate(), hour, minute));
      return slot.getTime() > t ? slot : new Date(slot.getTime() + 86_400_000);
    }
    case 'weekly': {
      const { hour, minute } = timeOf(schedule.time);
      const today = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate(), hour, minute);
      const ahead = (schedule.dayOfWeek - after.getUTCDay() + 7) % 7;
      const slot = today + ahead * 86_400_000;
      return new Date(slot > t ? slot : slot + 7 * 86_400_000);
    }
    case 'monthly': {
      const { hour, minute } = timeOf(schedule.time);
      for (let offset = 0; ; offset++) {
        const year = after.getUTCFullYear() + Math.floor((after.getUTCMonth() + offset) / 12);
        const month = (after.getUTCMonth() + offset) % 12;
        const slot = Date.UTC(year, month, Math.min(schedule.dayOfMonth, daysIn(year, month)), hour, minute);
        if (slot > t) return new Date(slot);
      }
    }
    case 'cron': {
      const next = cronOf(schedule.expression).nextRun(after);
      if (!next) throw invalid('expression', 'schedule.impossible', 'the cron expression never fires');
      return next;
    }
  }
}

/** How far back from now a long catch-up starts walking: two periods, so the window holds a slot. */
const WALK_WINDOW_MS: Record<BackupSchedule['frequency'], number> = {
  hourly: 2 * 3_600_000,
  daily: 2 * 86_400_000,
  weekly: 14 * 86_400_000,
  monthly: 62 * 86_400_000,
  cron: 2 * 86_400_000,
};

/** Slots walked at most when catching up (a per-minute cron after a long downtime): past it, the latest
 * slot is approximated by `now`'s own last slot search from closer in. */
const CATCH_UP_WALK = 100_000;
/** Missed slots counted one by one before the walk jumps close to now. */
const EXACT_WALK = 1000;

/** `missed`: the slots collapsed into this run, exact up to EXACT_WALK, a lower bound beyond. */
export type DueRun = { readonly due: false; readonly next: Date } | { readonly due: true; readonly slot: Date; readonly missed: number };

/**
 * Whether a run is due at `now`, given the last slot that was run (or when the policy was enabled). After
 * downtime, every missed slot collapses into one run, for the latest of them: the scheduler records that
 * slot as run, and the next call finds nothing due until the following slot.
 */
export function dueRun(schedule: BackupSchedule, lastSlot: Date, now: Date): DueRun {
  let slot = nextRunAfter(schedule, lastSlot);
  if (slot > now) return { due: false, next: slot };
  let missed = 1;
  // Walk the missed slots (so `missed` is exact) up to EXACT_WALK of them; past that (a per-minute cron
  // after days of downtime), restart the walk close to now so it stays short (slots are the same wherever
  // it starts) and `missed` is a lower bound.
  for (let steps = 0; steps < EXACT_WALK; steps++) {
    const following = nextRunAfter(schedule, slot);
    if (following > now) return { due: true, slot, missed };
    slot = following;
    missed++;
  }
  const window = WALK_WINDOW_MS[schedule.frequency];
  const near = nextRunAfter(schedule, new Date(now.getTime() - window));
  if (near <= now) slot = near;
  for (let steps = 0; steps < CATCH_UP_WALK; steps++) {
    const following = nextRunAfter(schedule, slot);
    if (following > now) return { due: true, slot, missed };
    slot = following;
  }
  return { due: true, slot, missed };
}
