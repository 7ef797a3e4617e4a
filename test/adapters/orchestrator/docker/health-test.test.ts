// Issue #15 item 12: podman 4.3 re-splits a CMD health check array on blanks, so a command with a blank in an
// argument goes as CMD-SHELL with each argument quoted; /bin/sh must then hand the program exactly the
// arguments given (fast-check over arbitrary text, run through a real /bin/sh).
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { healthTest } from '../../../../src/adapters/orchestrator/docker/container-spec.js';

const check = (command: string[]) => ({ command, intervalSeconds: 1, timeoutSeconds: 1, healthyThreshold: 1, unhealthyThreshold: 1 });

describe('health check command form', () => {
  it('keeps CMD when no argument holds a blank (nothing for a re-split to change)', () => {
    expect(healthTest(check(['/bin/false']))).toEqual(['CMD', '/bin/false']);
  });

  it('sends ["/bin/sh","-c","exit 1"] as CMD-SHELL, which runs exit 1', () => {
    const test = healthTest(check(['/bin/sh', '-c', 'exit 1']));
    expect(test[0]).toBe('CMD-SHELL');
    expect(() => execFileSync('/bin/sh', ['-c', test[1]!])).toThrow();
  });

  it('CMD-SHELL hands the program exactly the arguments given (fast-check)', () => {
    const arg = fc.string({ unit: fc.constantFrom('a', ' ', "'", '"', '$', '\\', '`', '*', ';', '\t', '\n', 'é', '(', '&') });
    fc.assert(
      fc.property(
        fc.array(
          arg.filter((a) => a.length > 0),
          { minLength: 1, maxLength: 4 },
        ),
        (args) => {
          const command = ['printf', '%s\\0', ' ', ...args];
          const [form, line] = healthTest(check(command));
          expect(form).toBe('CMD-SHELL');
          const out = execFileSync('/bin/sh', ['-c', line!]).toString();
          expect(out.split('\0').slice(0, -1)).toEqual([' ', ...args]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
