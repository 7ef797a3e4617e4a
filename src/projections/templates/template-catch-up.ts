// Reads that enforce a rule (a delete's children, a batch's conflict snapshot) must not miss what the
// store already holds because the template projection trails it. They first wait, bounded, until the
// projection's checkpoint reaches the store's head as it is when the rule is checked: every event
// committed before then is in the read model. The head is the newest position the store acknowledged to a
// writer, not the visible one: on the SQL store an open transaction elsewhere keeps the visible head
// below events already committed (see postgres-horizon.ts), and those are exactly the ones a rule must see. A projection that cannot catch up in time is a
// ProjectionTimeoutError (503, retry), never a decision on stale rows.
import { comparePositions, START, type Position } from '../../ports/event-store.js';
import type { SqlDatabase } from '../../ports/sql-database.js';
import { readCheckpoint } from '../../subscriptions/checkpoints.js';
import { ProjectionTimeoutError } from '../projector.js';
import { DELETED_STATUS, type TemplateTables } from './template-tables.js';
import type { Kysely } from 'kysely';
import { liveSchema } from '../projector.js';

export const TEMPLATE_PROJECTION = 'templates';

export interface CatchUpOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

/** Waits until the template read model holds every event the store holds now. */
export function templateProjectionCatchUp(
  db: SqlDatabase,
  acknowledgedHead: () => Promise<Position | undefined>,
  { timeoutMs = 5000, pollMs = 10 }: CatchUpOptions = {},
): () => Promise<void> {
  return async () => {
    const head = (await acknowledgedHead()) ?? START;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (comparePositions(await readCheckpoint(db, TEMPLATE_PROJECTION), head) >= 0) return;
      if (Date.now() >= deadline) throw new ProjectionTimeoutError(head, timeoutMs, [TEMPLATE_PROJECTION]);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}

/** Direct children (any tenant) neither archived nor deleted, once the read model has caught up with the store. */
export function activeChildReads(
  db: SqlDatabase,
  catchUp: () => Promise<void>,
): (templateId: string) => Promise<{ templateId: string; tenantId: string }[]> {
  return async (templateId) => {
    await catchUp();
    const rows = await (db.kysely as Kysely<TemplateTables>)
      .withSchema(liveSchema('templates'))
      .selectFrom('templates')
      .select(['template_id', 'tenant_id'])
      .where('parent_template_id', '=', templateId.toLowerCase())
      .where('status', 'not in', ['archived', DELETED_STATUS])
      .orderBy('template_id')
      .execute();
    return rows.map((row) => ({ templateId: row.template_id, tenantId: row.tenant_id }));
  };
}
