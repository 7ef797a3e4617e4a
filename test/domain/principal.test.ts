// Permissions: one list (the areas routes check, typed), and a refusal that names what is unknown.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PERMISSIONS,
  PERMISSION_AREAS,
  hasPermission,
  isPermission,
  permissionProblem,
  type Principal,
} from '../../src/domain/principal.js';

const principal = (...permissions: string[]): Principal => ({
  tenantId: 't',
  userId: 'u',
  permissions: new Set(permissions),
  via: 'api_key',
});

describe('permissions', () => {
  it('knows every area a route checks, and nothing else', () => {
    expect([...PERMISSION_AREAS].sort()).toEqual(['audit', 'backups', 'categories', 'configs', 'deployments', 'environments', 'templates']);
    for (const p of PERMISSIONS) expect(permissionProblem(p)).toBeUndefined();
    expect(PERMISSIONS).not.toContain('batches:write');
  });

  it('names the unknown area of any <area>:<action> outside the list (e.g. batches:write)', () => {
    expect(permissionProblem('batches:write')).toContain('`batches`');
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z_]{0,20}$/).filter((area) => !(PERMISSION_AREAS as readonly string[]).includes(area)),
        fc.constantFrom('read', 'write'),
        (area, action) => {
          const problem = permissionProblem(`${area}:${action}`);
          expect(problem).toContain(`\`${area}\``);
          expect(isPermission(`${area}:${action}`)).toBe(false);
        },
      ),
    );
  });

  it('refuses any string that is not in the list, and a known one never', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom(...PERMISSIONS)), (value) => {
        expect(permissionProblem(value) === undefined).toBe((PERMISSIONS as readonly string[]).includes(value));
      }),
    );
  });

  it('write implies read, admin implies every area but not platform', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PERMISSION_AREAS), (area) => {
        expect(hasPermission(principal(`${area}:write`), `${area}:read`)).toBe(true);
        expect(hasPermission(principal(`${area}:read`), `${area}:write`)).toBe(false);
        expect(hasPermission(principal('admin'), `${area}:write`)).toBe(true);
      }),
    );
    expect(hasPermission(principal('admin'), 'platform')).toBe(false);
  });
});
