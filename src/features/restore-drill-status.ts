// "We have backups" means "we restored one last night": the last passed restore drill per backup policy,
// as a metric (`backup_last_drill_success_timestamp_seconds{policy}`, read from the backups read model at
// each scrape) and in /ready's alerts (`restore_drill:<policy>` fires when the last passed drill of a
// policy is older than DRILL_ALERT_SECONDS; a policy that never passed one shows value -1 and fires).
import { sql, type Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Alert } from '../http/operations/index.js';

export const DRILL_ALERT_SECONDS = 26 * 3600;

/** Seconds since the epoch of the last passed drill, per policy that has drilled at least once. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the backups read model, read raw
export async function lastPassedDrills(db: Kysely<any>): Promise<Map<string, number | undefined>> {
  const exists = await sql<{ found: boolean }>`SELECT to_regclass('rm_backups.backups') IS NOT NULL AS found`.execute(db);
  const result = new Map<string, number | undefined>();
  if (!exists.rows[0]?.found) return result;
  const rows = await sql<{ policy_id: string; last_drill: string }>`
    SELECT policy_id, last_drill FROM rm_backups.backups WHERE policy_id IS NOT NULL AND last_drill IS NOT NULL`.execute(db);
  for (const row of rows.rows) {
    const drill = JSON.parse(row.last_drill) as { status?: string; finishedAt?: string };
    const at = drill.status === 'passed' && drill.finishedAt ? Date.parse(drill.finishedAt) / 1000 : undefined;
    const known = result.get(row.policy_id);
    result.set(row.policy_id, at === undefined ? known : Math.max(known ?? 0, at));
  }
  return result;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export function drillStatus(registry: Registry, db: Kysely<any>, clock: () => Date) {
  new Gauge({
    name: 'backup_last_drill_success_timestamp_seconds',
    help: 'Time of the last passed restore drill of a backup made by this policy',
    labelNames: ['policy'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [policy, at] of await lastPassedDrills(db).catch(() => new Map<string, number | undefined>()))
        if (at !== undefined) this.set({ policy }, at);
    },
  });
  return {
    async alerts(): Promise<Alert[]> {
      const now = clock().getTime() / 1000;
      return [...(await lastPassedDrills(db))].map(([policy, at]) => {
        const age = at === undefined ? -1 : Math.round(now - at);
        return {
          name: `restore_drill:${policy}`,
          firing: at === undefined || age > DRILL_ALERT_SECONDS,
          value: age,
          threshold: DRILL_ALERT_SECONDS,
        };
      });
    },
  };
}
