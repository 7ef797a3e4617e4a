// Stream names, built and parsed in one place. The stream of a tenant-owned aggregate whose id a client
// chooses carries the tenant in its name: `<category>-<tenant>-<id>`. Two tenants using one id then hold two
// streams: a create answers the same whether or not another tenant used the id (no oracle), and no command of
// one tenant can write into another's stream (no squat). The API keeps showing the client's id; the category
// stays the part before the first dash (EventStoreDB's `$ce-` streams, category filters), and tenant ids are
// DNS-label-like (`TENANT_ID_PATTERN`), so the name is valid on every store.
//
// Global streams `<category>-<id>` remain for server-chosen ids (backups, restores) and as the legacy shape
// of streams written before ids were per tenant: readers parse both (the command side resolves which one an
// aggregate lives in, commands/stream-resolver.ts).
import { UUID_PATTERN } from './uuid.js';

/** A stream name taken apart: `tenantId` only for the tenant-scoped shape. */
export interface StreamName {
  readonly category: string;
  readonly id: string;
  readonly tenantId?: string;
}

export const tenantStreamId = (category: string, tenantId: string, id: string): string => `${category}-${tenantId}-${id.toLowerCase()}`;

/** The global (server-chosen id) or legacy shape. */
export const globalStreamId = (category: string, id: string): string => `${category}-${id.toLowerCase()}`;

// The id is a UUID at the end, so the tenant between category and id is unambiguous even with dashes, and a
// global name (nothing between) never reads as a scoped one.
const STREAM_NAME = new RegExp(`^([a-z0-9]+)-(?:([a-z0-9][a-z0-9-]*)-)?(${UUID_PATTERN})$`, 'i');

/** Either shape taken apart; undefined for a stream whose id is not a UUID (reservations, singletons). */
export function parseStreamId(streamId: string): StreamName | undefined {
  const match = STREAM_NAME.exec(streamId);
  if (!match) return undefined;
  const [, category, tenantId, id] = match;
  return { category: category!, id: id!.toLowerCase(), ...(tenantId !== undefined ? { tenantId } : {}) };
}

/** The aggregate id of a stream of `category`, in either shape; undefined for any other stream. */
export function idOfStream(category: string, streamId: string): string | undefined {
  const name = parseStreamId(streamId);
  return name?.category === category ? name.id : undefined;
}

/** The legacy global stream a tenant-scoped stream replaces; undefined for a name of another shape. */
export function legacyStreamIdOf(streamId: string): string | undefined {
  const name = parseStreamId(streamId);
  return name?.tenantId === undefined ? undefined : globalStreamId(name.category, name.id);
}

/**
 * Whether two names denote one aggregate of one tenant: equal, or the scoped and legacy names of one
 * (category, id). Only meaningful where the tenant is known to be the same (a tenant's reservation stream).
 */
export function sameAggregateStream(a: string, b: string): boolean {
  if (a === b) return true;
  const [left, right] = [parseStreamId(a), parseStreamId(b)];
  if (!left || !right || left.category !== right.category || left.id !== right.id) return false;
  return left.tenantId === undefined || right.tenantId === undefined;
}
