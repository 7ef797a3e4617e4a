// Backup policy rules as properties: retention never deletes the newest valid backup nor a parent that a
// kept incremental needs, keeps the minimum count and deletes only what is old enough; catch-up after any
// downtime runs once (for the latest missed slot) and then nothing until the next slot; slots come in
// order; impossible schedules and a retention that keeps nothing are refused naming the field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertValidRetention,
  assertValidSchedule,
  backupsToDelete,
  dueRun,
  nextRunAfter,
  type BackupSchedule,
  type RetainedBackup,
} from '../../../src/domain/backup-policies/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const DAY = 86_400_000;

const backupsArb: fc.Arbitrary<RetainedBackup[]> = fc
  .array(
    fc.record({ ageHours: fc.integer({ min: 0, max: 24 * 60 }), valid: fc.boolean(), parent: fc.option(fc.nat(), { nil: undefined }) }),
    {
      maxLength: 25,
    },
  )
  .map((entries) =>
    entries.map((entry, index) => ({
      backupId: `b${index}`,
      completedAt: new Date(NOW - entry.ageHours * 3_600_000 - index).toISOString(),
      valid: entry.valid,
      // A parent is an older backup (a lower index may be newer: pick among those completed before).
      parentId: null as string | null,
      parentPick: entry.parent,
    })),
  )
  .map((list) =>
    list.map(({ parentPick, ...backup }) => {
      const older = list.filter((other) => Date.parse(other.completedAt) < Date.parse(backup.completedAt));
      return { ...backup, parentId: parentPick === undefined || older.length === 0 ? null : older[parentPick % older.length]!.backupId };
    }),
  );

const retentionArb = fc
  .record({ days: fc.integer({ min: 0, max: 40 }), minCount: fc.integer({ min: 0, max: 6 }) })
  .filter((r) => r.days > 0 || r.minCount > 0);

describe('retention', () => {
  it('never deletes the newest valid backup, a needed parent, or a young one, and keeps the minimum', () => {
    fc.assert(
      fc.property(backupsArb, retentionArb, (backups, retention) => {
        const deleted = new Set(backupsToDelete(backups, retention, new Date(NOW)));
        const kept = backups.filter((backup) => !deleted.has(backup.backupId));
        const valid = [...backups].filter((b) => b.valid).sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt));
        if (valid.length > 0) expect(deleted.has(valid[0]!.backupId)).toBe(false);
        expect(kept.filter((b) => b.valid).length).toBeGreaterThanOrEqual(Math.min(retention.minCount, valid.length));
        for (const backup of kept) if (backup.parentId) expect(deleted.has(backup.parentId)).toBe(false);
        for (const id of deleted) {
          const backup = backups.find((b) => b.backupId === id)!;
          expect(Date.parse(backup.completedAt)).toBeLessThan(NOW - retention.days * DAY);
        }
      }),
    );
  });

  it('deletes what is old and not needed', () => {
    const backups: RetainedBackup[] = [
      { backupId: 'full-old', completedAt: '2026-10-01T00:00:00Z', valid: true, parentId: null },
      { backupId: 'incr-old', completedAt: '2026-10-02T00:00:00Z', valid: true, parentId: 'full-old' },
      { backupId: 'full-new', completedAt: '2026-11-25T00:00:00Z', valid: true, parentId: null },
      { backupId: 'incr-new', completedAt: '2026-11-26T00:00:00Z', valid: true, parentId: 'full-new' },
    ];
    expect(backupsToDelete(backups, { days: 7, minCount: 1 }, new Date(NOW))).toEqual(['full-old', 'incr-old']);
    // An incremental kept by the minimum count keeps its full parent too.
    expect(backupsToDelete(backups, { days: 7, minCount: 3 }, new Date(NOW))).toEqual([]);
  });

  it('refuses a retention that keeps nothing, naming the field', () => {
    expect(() => assertValidRetention({ days: 0, minCount: 0 })).toThrow(
      expect.objectContaining({ rule: 'backup_policy.retention.keeps_nothing', field: 'retention.minCount' }),
    );
    expect(() => assertValidRetention({ days: -1, minCount: 1 })).toThrow(expect.objectContaining({ field: 'retention.days' }));
    expect(() => assertValidRetention({ days: 0, minCount: 1 })).not.toThrow();
  });
});

const time = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const scheduleArb: fc.Arbitrary<BackupSchedule> = fc.oneof(
  fc.integer({ min: 0, max: 59 }).map((minute) => ({ frequency: 'hourly' as const, minute })),
  time.map((t) => ({ frequency: 'daily' as const, time: t })),
  fc.tuple(fc.integer({ min: 0, max: 6 }), time).map(([dayOfWeek, t]) => ({ frequency: 'weekly' as const, dayOfWeek, time: t })),
  fc.tuple(fc.integer({ min: 1, max: 31 }), time).map(([dayOfMonth, t]) => ({ frequency: 'monthly' as const, dayOfMonth, time: t })),
  fc.constantFrom('*/15 * * * *', '0 3 * * 1-5', '30 2 1 * *').map((expression) => ({ frequency: 'cron' as const, expression })),
);
const instant = fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }).map((t) => new Date(t));

describe('schedules', () => {
  it('catch up once after any downtime, for the latest missed slot, then wait for the next slot', () => {
    fc.assert(
      fc.property(scheduleArb, instant, fc.integer({ min: 0, max: 400 * DAY }), (schedule, last, downtime) => {
        const now = new Date(last.getTime() + downtime);
        const first = dueRun(schedule, last, now);
        if (!first.due) {
          expect(first.next.getTime()).toBeGreaterThan(now.getTime());
          expect(nextRunAfter(schedule, last).getTime()).toBeGreaterThan(now.getTime());
          return;
        }
        expect(first.slot.getTime()).toBeGreaterThan(last.getTime());
        expect(first.slot.getTime()).toBeLessThanOrEqual(now.getTime());
        // The latest missed slot: the next one is in the future.
        expect(nextRunAfter(schedule, first.slot).getTime()).toBeGreaterThan(now.getTime());
        // Recorded as run, nothing more is due now.
        const again = dueRun(schedule, first.slot, now);
        expect(again.due).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('gives slots in order, each strictly after the instant asked about', () => {
    fc.assert(
      fc.property(scheduleArb, instant, (schedule, after) => {
        const a = nextRunAfter(schedule, after);
        const b = nextRunAfter(schedule, a);
        expect(a.getTime()).toBeGreaterThan(after.getTime());
        expect(b.getTime()).toBeGreaterThan(a.getTime());
      }),
    );
  });

  it('runs a monthly day 31 on the last day of shorter months', () => {
    const schedule: BackupSchedule = { frequency: 'monthly', dayOfMonth: 31, time: '02:30' };
    expect(nextRunAfter(schedule, new Date('2026-02-01T00:00:00Z')).toISOString()).toBe('2026-02-28T02:30:00.000Z');
    expect(nextRunAfter(schedule, new Date('2026-02-28T02:30:00Z')).toISOString()).toBe('2026-03-31T02:30:00.000Z');
  });

  it('refuses impossible schedules naming the field', () => {
    const reference = new Date(NOW);
    const refused = (schedule: BackupSchedule) => {
      try {
        assertValidSchedule(schedule, reference);
      } catch (error) {
        expect(error).toBeInstanceOf(RuleViolation);
        return (error as RuleViolation).field;
      }
      return undefined;
    };
    expect(refused({ frequency: 'daily', time: '25:00' })).toBe('schedule.time');
    expect(refused({ frequency: 'daily', time: '12:60' })).toBe('schedule.time');
    expect(refused({ frequency: 'weekly', dayOfWeek: 7, time: '01:00' })).toBe('schedule.dayOfWeek');
    expect(refused({ frequency: 'monthly', dayOfMonth: 32, time: '01:00' })).toBe('schedule.dayOfMonth');
    expect(refused({ frequency: 'hourly', minute: 60 })).toBe('schedule.minute');
    expect(refused({ frequency: 'cron', expression: '0 0 30 2 *' })).toBe('schedule.expression');
    expect(refused({ frequency: 'cron', expression: 'every day' })).toBe('schedule.expression');
    expect(refused({ frequency: 'cron', expression: '0 0 29 2 *' })).toBeUndefined();
    expect(refused({ frequency: 'daily', time: '23:59' })).toBeUndefined();
  });
});
