// Two service instances on one PostgreSQL (the SQL job queue): the scheduler's process manager runs on the
// instance holding its lease only, and every slot of a policy that fires every 2 s runs at most one backup
// — no slot twice, no backup without its run — whichever instance's worker picks the tick up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { RecordedEvent } from '../../../src/ports/event-store.js';
import { startService, type Service } from '../../../src/service.js';
import { createTestDatabase, postgresService } from '../../support/services.js';
import { backupPolicyStreamId } from '../../../src/domain/backup-policies/index.js';

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] backup scheduler, two instances: ${postgres.skipReason}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('backup scheduler on two instances', () => {
  it.skipIf(!postgres.url)('one instance schedules; each slot runs once', { timeout: 120_000 }, async () => {
    const databaseUrl = await createTestDatabase(postgres.url!);
    const dirs = [mkdtempSync(join(tmpdir(), 'kyo-sched-a-')), mkdtempSync(join(tmpdir(), 'kyo-sched-b-'))];
    const services: Service[] = [];
    try {
      for (const dir of dirs)
        services.push(
          await startService(
            loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, BACKUP_POLICY_MIN_INTERVAL_SECONDS: '1' }),
            pino({ level: 'silent' }),
            {
              defaultMetrics: false,
            },
          ),
        );
      const [a, b] = services as [Service, Service];
      const { apiKey } = await a.apiKeys.create({ tenantId: 'acme', userId: 'ada', name: 'admin', permissions: ['admin'] });
      const headers = { authorization: `Bearer ${apiKey}` };
      const created = await b.http.inject({
        method: 'POST',
        url: '/v1/backup-policies',
        headers,
        payload: {
          name: 'every two seconds',
          type: 'database',
          schedule: { frequency: 'cron', expression: '*/2 * * * * *' },
          retention: { days: 1, minCount: 2 },
        },
      });
      expect(created.statusCode).toBe(201);
      const { policyId } = created.json() as { policyId: string };
      await sleep(9000);
      expect((await a.http.inject({ method: 'POST', url: `/v1/backup-policies/${policyId}/disable`, headers })).statusCode).toBe(200);
      await sleep(1500);

      const schedulerStates = services.map((s) => s.processes.states().find((p) => p.name === 'process_backup_scheduler')?.state);
      expect(schedulerStates.filter((state) => state === 'running')).toHaveLength(1);
      expect(schedulerStates.filter((state) => state === 'standby')).toHaveLength(1);

      const events: RecordedEvent[] = [];
      for (let after: RecordedEvent['position'] | undefined; ;) {
        const page = await a.eventStore.readAll({ ...(after ? { after } : {}), maxCount: 5000 });
        events.push(...page.events);
        if (page.isEnd) break;
        after = page.lastPosition;
      }
      const runs = events.filter((e) => e.streamId === backupPolicyStreamId('acme', policyId) && e.type === 'BackupPolicyRunRecorded');
      const skipped = events.filter((e) => e.streamId === backupPolicyStreamId('acme', policyId) && e.type === 'BackupPolicyRunSkipped');
      const requested = events.filter((e) => e.type === 'BackupRequested' && e.data.policyId === policyId);
      const slots = [...runs, ...skipped].map((e) => String(e.data.slot));
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(new Set(slots).size).toBe(slots.length); // no slot twice
      expect(requested.map((e) => e.data.backupId).sort()).toEqual(runs.map((e) => e.data.backupId).sort());
      // Runs never overlap: each run's previous backup had finished (or the slot was skipped).
      expect(slots.every((slot) => Date.parse(slot) % 2000 === 0)).toBe(true);
    } finally {
      for (const service of services) await service.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
