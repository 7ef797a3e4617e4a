// The one stream-name helper: scoped and global names round-trip, never read as each other, and the
// legacy name of a scoped stream is the global name of the same (category, id).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  globalStreamId,
  idOfStream,
  legacyStreamIdOf,
  parseStreamId,
  sameAggregateStream,
  tenantStreamId,
} from '../../src/domain/tenant-streams.js';
import { TENANT_ID_PATTERN } from '../../src/domain/principal.js';

const category = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const tenant = fc.stringMatching(TENANT_ID_PATTERN);
const id = fc.uuid();

describe('stream names', () => {
  it('parses a scoped name back to its category, tenant and id, whatever dashes the tenant holds', () => {
    fc.assert(
      fc.property(category, tenant, id, (c, t, i) => {
        expect(parseStreamId(tenantStreamId(c, t, i))).toEqual({ category: c, tenantId: t, id: i.toLowerCase() });
        expect(idOfStream(c, tenantStreamId(c, t, i))).toBe(i.toLowerCase());
      }),
    );
  });

  it('parses a global name without a tenant, and its id is the same as the scoped one’s', () => {
    fc.assert(
      fc.property(category, tenant, id, (c, t, i) => {
        expect(parseStreamId(globalStreamId(c, i))).toEqual({ category: c, id: i.toLowerCase() });
        expect(legacyStreamIdOf(tenantStreamId(c, t, i))).toBe(globalStreamId(c, i));
        expect(legacyStreamIdOf(globalStreamId(c, i))).toBeUndefined();
        expect(sameAggregateStream(globalStreamId(c, i), tenantStreamId(c, t, i))).toBe(true);
      }),
    );
  });

  it('keeps tenants, ids and categories apart', () => {
    fc.assert(
      fc.property(category, tenant, tenant, id, id, (c, t1, t2, i1, i2) => {
        fc.pre(t1 !== t2 && i1 !== i2);
        expect(tenantStreamId(c, t1, i1)).not.toBe(tenantStreamId(c, t2, i1));
        expect(sameAggregateStream(tenantStreamId(c, t1, i1), tenantStreamId(c, t2, i1))).toBe(false);
        expect(sameAggregateStream(tenantStreamId(c, t1, i1), globalStreamId(c, i2))).toBe(false);
        expect(idOfStream(`${c}x`, tenantStreamId(c, t1, i1))).toBeUndefined();
      }),
    );
  });

  it('reads nothing into names that are not an aggregate’s', () => {
    for (const name of ['category-not-a-uuid', 'reservation-abc', 'category-', '-0b6f3f5e-1111-4222-8333-944455556666', 'singleton'])
      expect(parseStreamId(name)).toBeUndefined();
  });
});
