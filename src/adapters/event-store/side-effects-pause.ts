// The side-effects pause: one row that a bulk restore commits with the restored log. A restored store
// describes a world (running backups, schedules, deployments) that the world outside no longer matches, so
// a service started on it runs projections and answers reads, but starts nothing that acts outside (process
// managers, job workers, schedulers, the reconciler, outbound webhooks) until an operator resumes it.
import type { SqlQueryable } from '../../ports/sql-database.js';

export const SIDE_EFFECTS_PAUSE_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS es_side_effects_paused (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  reason     text        NOT NULL,
  since      timestamptz NOT NULL DEFAULT now()
)`;

export interface SideEffectsPause {
  readonly reason: string;
  readonly since: Date;
}

/** Marks the store paused (in the caller's transaction: the restore's, so the pause commits with the log). */
export async function pauseSideEffects(tx: SqlQueryable, reason: string): Promise<void> {
  await tx.query(SIDE_EFFECTS_PAUSE_SCHEMA);
  await tx.query(
    `INSERT INTO es_side_effects_paused (reason) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET reason = excluded.reason, since = now()`,
    [reason],
  );
}

/** The pause, if this store holds one (a store made before pauses existed has no table). */
export async function readSideEffectsPause(db: SqlQueryable): Promise<SideEffectsPause | undefined> {
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('es_side_effects_paused') IS NOT NULL AS exists`);
  if (!table?.exists) return undefined;
  const [row] = await db.query<{ reason: string; since: Date | string }>('SELECT reason, since FROM es_side_effects_paused');
  return row ? { reason: row.reason, since: new Date(row.since) } : undefined;
}

export async function clearSideEffectsPause(db: SqlQueryable): Promise<void> {
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('es_side_effects_paused') IS NOT NULL AS exists`);
  if (table?.exists) await db.query('DELETE FROM es_side_effects_paused');
}
