import type { SqlDatabase } from '../../ports/sql-database.js';
import { countTenantTemplates } from './template-queries.js';

/**
 * Templates per tenant for the tenant cap. The count comes from the read model, which trails the commands
 * anyway, so it is kept for a second per tenant (the cap is approximate by that much) instead of counting
 * on every create.
 */
export function tenantTemplateCounter(db: SqlDatabase): (tenantId: string) => Promise<number> {
  const counted = new Map<string, { at: number; count: Promise<number> }>();
  return (tenantId) => {
    const now = Date.now();
    const hit = counted.get(tenantId);
    if (hit && now - hit.at < 1000) return hit.count;
    const count = countTenantTemplates(db.kysely, tenantId);
    counted.set(tenantId, { at: now, count });
    count.catch(() => counted.delete(tenantId));
    if (counted.size > 10_000) counted.delete(counted.keys().next().value!);
    return count;
  };
}
