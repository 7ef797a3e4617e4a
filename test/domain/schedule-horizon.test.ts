// The one rule for how far ahead a client may schedule work, through the batch options that apply it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateBatchOptions } from '../../src/domain/batches/batch-plan.js';
import { MAX_SCHEDULE_AHEAD_MS } from '../../src/domain/schedule-horizon.js';
import { RuleViolation } from '../../src/domain/rule-violation.js';

const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe('schedule horizon (batch scheduledAt)', () => {
  it('accepts 30 days ahead (past a 32-bit millisecond delay) and the last allowed instant', () => {
    for (const offset of [30 * 86_400_000, MAX_SCHEDULE_AHEAD_MS])
      expect(validateBatchOptions({ scheduledAt: at(offset) }, at(0)).scheduledAt).toBe(at(offset));
  });

  it('property: an instant is accepted exactly when it is in the future and at most the horizon ahead', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 * MAX_SCHEDULE_AHEAD_MS }), (offset) => {
        let refusal: RuleViolation | undefined;
        try {
          validateBatchOptions({ scheduledAt: at(offset) }, at(0));
        } catch (error) {
          refusal = error as RuleViolation;
        }
        if (offset <= MAX_SCHEDULE_AHEAD_MS) expect(refusal).toBeUndefined();
        else expect(refusal).toMatchObject({ rule: 'batch.scheduled_at.too_far', kind: 'invalid', field: 'options.scheduledAt' });
      }),
      { examples: [[MAX_SCHEDULE_AHEAD_MS + 1]] },
    );
  });
});
