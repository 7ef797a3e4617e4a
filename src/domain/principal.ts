/** Who is asking: every request is authenticated into one tenant, one user and a set of permissions. */
export interface Principal {
  readonly tenantId: string;
  readonly userId: string;
  readonly permissions: ReadonlySet<string>;
  readonly via: 'api_key' | 'jwt';
}

/**
 * Permissions are `<area>:read` / `<area>:write`; `<area>:write` implies read; `admin` grants everything
 * within the tenant. `platform` (acting across tenants, e.g. creating another tenant's keys) is never implied.
 */
export function hasPermission(principal: Principal, required: string): boolean {
  if (principal.permissions.has(required)) return true;
  if (required === PLATFORM_PERMISSION) return false;
  if (principal.permissions.has('admin')) return true;
  const [area, action] = required.split(':');
  return action === 'read' && principal.permissions.has(`${area}:write`);
}

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const PLATFORM_PERMISSION = 'platform';
export const PERMISSION_PATTERN = /^(admin|platform|[a-z][a-z_]{0,40}:(read|write))$/;
