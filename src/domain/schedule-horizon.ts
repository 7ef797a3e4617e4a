// How far ahead a client may schedule work. One rule for every instant a client names for later (a
// batch's `scheduledAt`): beyond it is a typo or an attempt to park work in a queue for ever (year 9999).
// The job queues hold delays up to ten years as 64-bit time (ports/job-queue.ts MAX_DELAY_MS), well past it.
import { RuleViolation } from './rule-violation.js';

export const MAX_SCHEDULE_AHEAD_DAYS = 366;
export const MAX_SCHEDULE_AHEAD_MS = MAX_SCHEDULE_AHEAD_DAYS * 86_400_000;

/** Refuses an instant more than MAX_SCHEDULE_AHEAD_DAYS after `now`, naming the field; `rule` is the feature's. */
export function assertWithinScheduleHorizon(at: number, now: number, rule: string, field: string): void {
  if (at - now > MAX_SCHEDULE_AHEAD_MS)
    throw new RuleViolation(rule, `${field.split('.').pop()} must be at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`, 'invalid', field);
}
