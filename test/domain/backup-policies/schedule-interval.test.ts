// The minimum gap between two runs of one policy (BACKUP_POLICY_MIN_INTERVAL_SECONDS).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertMinimumInterval,
  DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS,
  type BackupSchedule,
} from '../../../src/domain/backup-policies/index.js';

const at = new Date('2026-11-26T12:00:00.000Z');
const refusal = (schedule: BackupSchedule, min: number) => {
  try {
    assertMinimumInterval(schedule, at, min);
    return undefined;
  } catch (error) {
    return error as { rule: string; field: string };
  }
};

describe('minimum interval of a backup schedule', () => {
  it('refuses a per-second cron, and every regular schedule passes the default', () => {
    expect(refusal({ frequency: 'cron', expression: '* * * * * *' }, DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS)).toMatchObject({
      rule: 'backup_policy.schedule.too_frequent',
      field: 'schedule.expression',
    });
    for (const schedule of [
      { frequency: 'hourly', minute: 5 },
      { frequency: 'daily', time: '02:00' },
      { frequency: 'weekly', dayOfWeek: 1, time: '02:00' },
      { frequency: 'monthly', dayOfMonth: 31, time: '02:00' },
      { frequency: 'cron', expression: '*/5 * * * *' },
    ] as BackupSchedule[])
      expect(refusal(schedule, DEFAULT_MIN_SCHEDULE_INTERVAL_SECONDS)).toBeUndefined();
    expect(refusal({ frequency: 'hourly', minute: 0 }, 7200)).toMatchObject({ field: 'schedule.frequency' });
  });

  it('property: a cron every N seconds is accepted exactly when N is at least the minimum', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 5, 10, 15, 20, 30), fc.integer({ min: 1, max: 60 }), (every, min) => {
        const refused = refusal({ frequency: 'cron', expression: `*/${every} * * * * *` }, min);
        expect(refused === undefined).toBe(every >= min);
      }),
    );
  });
});
