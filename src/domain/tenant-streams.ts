// The stream of a tenant-owned aggregate whose id a client chooses carries the tenant in its name:
// `<category>-<tenant>-<id>`. Two tenants using one id then hold two streams: a create answers the same
// whether or not another tenant used the id (no oracle), and no command of one tenant can write into
// another's stream (no squat). The API keeps showing the client's id; the category stays the part before the
// first dash (EventStoreDB's `$ce-` streams, category filters), and tenant ids are DNS-label-like
// (`TENANT_ID_PATTERN`), so the name is valid on every store.
import { UUID_PATTERN } from './uuid.js';

export const tenantStreamId = (category: string, tenantId: string, id: string): string => `${category}-${tenantId}-${id.toLowerCase()}`;

/** Matches the tenant-scoped streams of a category: group 1 the tenant, group 2 the id. */
export const tenantStreamPattern = (category: string): RegExp => new RegExp(`^${category}-([a-z0-9][a-z0-9-]*)-(${UUID_PATTERN})$`, 'i');
