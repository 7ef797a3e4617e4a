// A projection process killed with SIGKILL in the middle of its batches leaves a read model that agrees
// with its checkpoint; after a restart every event is applied exactly once (the checkpoint moves in the
// same transaction as the read model's rows).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore, migrateEventStore } from '../../src/adapters/event-store/postgres-event-store.js';
import { createPgDatabase } from '../../src/adapters/sql/pg-database.js';
import { START, comparePositions, type Position } from '../../src/ports/event-store.js';
import { createProjectionEngine } from '../../src/projections/projection-engine.js';
import { createTestDatabase, postgresService } from '../support/services.js';
import { countingProjector } from './fixtures/counting-projector.js';
import { seedCounted } from './fixtures/events.js';

const postgres = postgresService();
if (postgres.skipReason) console.warn(`[skip] projection crash test on PostgreSQL: ${postgres.skipReason}`);

const fixture = fileURLToPath(new URL('./fixtures/project-until-killed.ts', import.meta.url));

describe.skipIf(!postgres.url)('projection killed mid-batch (PostgreSQL)', () => {
  it('resumes from its checkpoint and applies every event exactly once', { timeout: 90_000 }, async () => {
    const url = await createTestDatabase(postgres.url!);
    const db = createPgDatabase({ connectionString: url, maxConnections: 6 });
    await migrateEventStore(db);
    const store = createPostgresEventStore(db, { pollIntervalMs: 20 });
    const name = `crash_${randomUUID().slice(0, 8)}`;
    try {
      const streams = await seedCounted(store, 20, 400); // 8,000 events: ~200 batches of 40
      const child = spawn('npx', ['tsx', fixture, url, name], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));

      // Kill once a few dozen batches have committed but far from the end.
      const checkpoint = async () =>
        (
          await db.query<{ commit_position: string; prepare_position: string }>(
            `SELECT commit_position::text, prepare_position::text FROM projection_checkpoints WHERE name = $1`,
            [name],
          )
        ).map((row): Position => ({ commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) }))[0];
      const counted = async () =>
        Number(
          (await db.query<{ n: string }>(`SELECT coalesce(sum(n), 0)::text AS n FROM rm_${name}.counts`).catch(() => [{ n: '0' }]))[0]!.n,
        );
      const deadline = Date.now() + 60_000;
      while ((await counted()) < 1200 && child.exitCode === null && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(child.exitCode, `the projector died on its own: ${stderr}`).toBeNull();
      process.kill(-child.pid!, 'SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 300));

      // The read model holds exactly the events up to the checkpoint: nothing from the killed batch.
      const atKill = await checkpoint();
      expect(atKill).toBeDefined();
      const appliedAtKill = await counted();
      expect(appliedAtKill).toBeLessThan(8000);
      let upToCheckpoint = 0;
      let after: Position = START;
      for (;;) {
        const page = await store.readAll({ after, maxCount: 1000, filter: { categories: ['counted'] } });
        upToCheckpoint += page.events.filter((e) => comparePositions(e.position, atKill!) <= 0).length;
        after = page.lastPosition;
        if (page.isEnd) break;
      }
      expect(appliedAtKill).toBe(upToCheckpoint);

      // Restart in this process: it waits for the dead instance's lease, resumes, and ends exact.
      const engine = createProjectionEngine({
        db,
        eventStore: store,
        projectors: [countingProjector(name)],
        batchSize: 500,
        leaseRetryMs: 50,
      });
      await engine.start();
      try {
        await engine.waitFor(await store.headPosition(), { timeoutMs: 30_000, projections: [name] });
        const rows = await db.query<{ stream_id: string; n: number; last_revision: number }>(
          `SELECT stream_id, n, last_revision FROM rm_${name}.counts ORDER BY stream_id`,
        );
        expect(rows.map((row) => row.stream_id)).toEqual([...streams].sort());
        for (const row of rows) expect([row.n, row.last_revision]).toEqual([400, 399]);
      } finally {
        await engine.stop();
      }
    } finally {
      await store.close();
      await db.close();
    }
  });
});
