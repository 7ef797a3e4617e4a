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

/**
 * The one list of permission areas: routes declare `<area>:<action>` from it (the type makes any other
 * string a compile error), and a key or token can only be given permissions that some route checks.
 * Batches run template commands, so they need `templates:*`; restores and drills are `backups:*`.
 */
export const PERMISSION_AREAS = ['audit', 'backups', 'categories', 'configs', 'deployments', 'environments', 'templates'] as const;
export const PERMISSION_ACTIONS = ['read', 'write'] as const;
export type PermissionArea = (typeof PERMISSION_AREAS)[number];
export type Permission = 'admin' | typeof PLATFORM_PERMISSION | `${PermissionArea}:${(typeof PERMISSION_ACTIONS)[number]}`;

/** Every permission a credential may hold, in a stable order. */
export const PERMISSIONS: readonly Permission[] = [
  'admin',
  PLATFORM_PERMISSION,
  ...PERMISSION_AREAS.flatMap((area) => PERMISSION_ACTIONS.map((action) => `${area}:${action}` as const)),
];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Why a requested permission is refused, naming the unknown part; undefined when it exists. */
export function permissionProblem(value: string): string | undefined {
  if (isPermission(value)) return undefined;
  const [area, action, ...rest] = value.split(':');
  if (action === undefined || rest.length > 0) return `\`${value}\` is not a permission: use admin, platform or <area>:read|write`;
  if (!(PERMISSION_AREAS as readonly string[]).includes(area ?? ''))
    return `unknown permission area \`${area}\` in \`${value}\`; the areas are ${PERMISSION_AREAS.join(', ')}`;
  return `unknown permission action \`${action}\` in \`${value}\`; the actions are ${PERMISSION_ACTIONS.join(', ')}`;
}
