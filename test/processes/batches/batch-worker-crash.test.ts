// A worker process killed mid-batch (SIGKILL, real process on PostgreSQL): once workers run again, the
// batch completes with every item applied exactly once (one TemplateCreated per item, with the item's
// commandId) and progress exact.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startBatch } from '../../../src/commands/batches/batch-commands.js';
import { templateStreamId } from '../../../src/domain/templates/index.js';
import { getBatch } from '../../../src/projections/batches/batch-queries.js';
import { contextOf, createBatchStack, until } from '../../support/batch-stack.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

const postgres = postgresService();
const fixture = fileURLToPath(new URL('./fixtures/run-batch-workers.ts', import.meta.url));
if (postgres.skipReason) console.warn(`[skip] batch worker crash: ${postgres.skipReason}`);

describe.skipIf(!postgres.url)('batch worker killed mid-batch (PostgreSQL)', () => {
  it('ends with every item applied exactly once', { timeout: 120_000 }, async () => {
    const url = await createTestDatabase(postgres.url!);
    const stack = await createBatchStack({
      databaseUrl: url,
      queueLeaseMs: 1500,
    });
    try {
      const batchId = randomUUID();
      const ids = Array.from({ length: 300 }, () => randomUUID());
      await startBatch(stack.batches, contextOf('acme', 'alice', randomUUID()), {
        batchId,
        operation: 'create',
        items: ids.map((templateId, i) => ({
          templateId,
          name: `Crash ${i} ${batchId}`,
          templateType: 'base',
        })),
        options: { chunkSize: 25, concurrency: 4 },
      });
      const child = spawn('npx', ['tsx', fixture, url], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
      const created = async () =>
        Number(
          (await stack.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events WHERE event_type = 'TemplateCreated'`))[0]!.n,
        );
      const deadline = Date.now() + 60_000;
      while ((await created()) < 60 && child.exitCode === null && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(child.exitCode, `the workers died on their own: ${stderr}`).toBeNull();
      process.kill(-child.pid!, 'SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const atKill = await created();
      expect(atKill).toBeGreaterThanOrEqual(60);
      expect(atKill).toBeLessThan(300);

      await stack.startWorkers();
      await until(
        async () => {
          await stack.caughtUp();
          return (await getBatch(stack.db.kysely, 'acme', batchId, new Date()))?.status === 'completed';
        },
        'the batch to complete after the crash',
        90_000,
      );
      const batch = (await getBatch(stack.db.kysely, 'acme', batchId, new Date()))!;
      expect(batch.progress).toMatchObject({
        total: 300,
        succeeded: 300,
        failed: 0,
        pending: 0,
        queued: 0,
      });
      for (const [index, templateId] of ids.entries()) {
        const events = await stack.eventStore.readStream(templateStreamId(templateId));
        expect(events.map((e) => `${e.type}@${String(e.metadata.commandId)}`)).toEqual([`TemplateCreated@${batchId}:${index}`]);
      }
    } finally {
      await stack.close();
    }
  });
});
