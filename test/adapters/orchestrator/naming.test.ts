// The name an environment's network or namespace gets in the orchestrator: a DNS label, the same for the same
// (tenant, target), and never the same for two tenants (#15.5), whatever the tenant ids and targets are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { targetName } from '../../../src/adapters/orchestrator/naming.js';
import { DNS_LABEL } from '../../../src/domain/environments/index.js';
import { TENANT_ID_PATTERN } from '../../../src/domain/principal.js';

const tenant = fc.stringMatching(TENANT_ID_PATTERN);
const target = fc.stringMatching(DNS_LABEL);

describe('targetName', () => {
  it('is a DNS label of at most 63 characters, deterministic, starting with the target when it fits', () => {
    fc.assert(
      fc.property(tenant, target, (tenantId, t) => {
        const name = targetName({ tenantId, target: t });
        expect(name).toMatch(DNS_LABEL);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(targetName({ tenantId, target: t })).toBe(name);
        if (t.length <= 52) expect(name.startsWith(`${t}-`)).toBe(true);
      }),
    );
  });

  it("two tenants' environments of one target never share a name, nor do two targets of one tenant", () => {
    fc.assert(
      fc.property(tenant, tenant, target, target, (a, b, ta, tb) => {
        fc.pre(a !== b || ta !== tb);
        expect(targetName({ tenantId: a, target: ta })).not.toBe(targetName({ tenantId: b, target: tb }));
      }),
      { numRuns: 2000 },
    );
    // Long targets that differ only past the cut still get two names.
    const long = 'p'.repeat(60);
    expect(targetName({ tenantId: 'acme', target: `${long}a` })).not.toBe(targetName({ tenantId: 'acme', target: `${long}b` }));
    expect(targetName({ tenantId: 'acme', target: 'production' })).not.toBe(targetName({ tenantId: 'globex', target: 'production' }));
  });
});
