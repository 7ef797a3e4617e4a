// Batch commands on the real stores (PGlite, and PostgreSQL when available): a dry run answers the report
// and the impact and writes nothing; a start records the plan from a snapshot read off the template
// streams; refusals write nothing; cancel and undo follow the aggregate's rules.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchConflictViolation } from '../../../src/domain/batches/index.js';
import { batchStreamId } from '../../../src/domain/batches/batch-streams.js';
import { StreamNotFoundError } from '../../../src/ports/event-store.js';
import { cancelBatch, startBatch, undoBatch } from '../../../src/commands/batches/batch-commands.js';
import { createTemplate, updateTemplate } from '../../../src/commands/templates/index.js';
import { createBatchStack, contextOf, type BatchStack } from '../../support/batch-stack.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

function suite(label: string, databaseUrl: () => Promise<string | undefined>) {
  describe(label, () => {
    let stack: BatchStack;
    beforeAll(async () => {
      const url = await databaseUrl();
      stack = await createBatchStack({
        ...(url ? { databaseUrl: url } : {}),
        maxItems: 5,
      });
    });
    afterAll(async () => stack?.close());

    const ctx = (tenant = 'acme') => contextOf(tenant, 'alice', randomUUID());
    const template = async (name: string, tenant = 'acme') => {
      const templateId = randomUUID();
      const created = await createTemplate(stack.templates, ctx(tenant), {
        templateId,
        name,
        templateType: 'base',
      });
      await stack.projections.waitFor(created.position, { timeoutMs: 20_000 });
      return templateId;
    };
    const streamExists = async (id: string) =>
      stack.eventStore.readStream(batchStreamId(id)).then(
        () => true,
        (error: unknown) => (error instanceof StreamNotFoundError ? false : Promise.reject(error)),
      );

    it('dry-runs an update batch: a version conflict merged, the impact, and nothing written', async () => {
      const a = await template(`Alpha ${randomUUID()}`);
      const b = await template(`Beta ${randomUUID()}`);
      await updateTemplate(stack.templates, ctx(), {
        templateId: a,
        changes: { description: 'moved on' },
      });
      await stack.caughtUp();
      const batchId = randomUUID();
      const started = await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'update',
        items: [
          {
            templateId: a,
            expectedRevision: 0,
            changes: { defaultDuration: 90 },
          },
          { templateId: b, changes: { defaultDuration: 60 } },
        ],
        options: { dryRun: true, conflictResolution: 'merge' },
      });
      expect(started.dryRun).toBe(true);
      if (!started.dryRun) return;
      expect(started.analysis.conflicts).toEqual([
        expect.objectContaining({
          index: 0,
          type: 'version',
          changedFields: ['description'],
          mergeable: true,
          resolution: 'merged',
        }),
      ]);
      expect(started.analysis.impact.templatesChanged.sort()).toEqual([a, b].sort());
      expect(started.analysis.impact.risk.level).toBeDefined();
      expect(await streamExists(batchId)).toBe(false);
    });

    it('starts a create batch: plan recorded and started, from the template streams', async () => {
      const batchId = randomUUID();
      const ids = [randomUUID(), randomUUID()];
      const started = await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'create',
        items: ids.map((templateId, i) => ({
          templateId,
          name: `Created ${i} ${batchId}`,
          templateType: 'base',
        })),
      });
      expect(started.dryRun).toBe(false);
      const events = await stack.eventStore.readStream(batchStreamId(batchId));
      expect(events.map((e) => e.type)).toEqual(['BatchPlanRecorded', 'BatchStarted']);
      expect(events[0]!.metadata.tenantId).toBe('acme');
    });

    it('refuses abort with conflicts (the list), a delete of a missing template, too many items and bad shapes, writing nothing', async () => {
      const taken = `Taken ${randomUUID()}`;
      await template(taken);
      await stack.caughtUp();
      const batchId = randomUUID();
      const refused = await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'create',
        items: [{ templateId: randomUUID(), name: taken, templateType: 'base' }],
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BatchConflictViolation);
      expect((refused as BatchConflictViolation).conflicts).toEqual([
        expect.objectContaining({
          index: 0,
          type: 'business_rule',
          rule: 'batch.name.collision',
        }),
      ]);
      // Delete is supported now: a missing template is an access conflict, which abort refuses too.
      await expect(
        startBatch(stack.batches, ctx(), {
          batchId,
          operation: 'delete',
          items: [{ templateId: randomUUID() }],
        }),
      ).rejects.toMatchObject({ rule: 'batch.conflicts.abort' });
      await expect(
        startBatch(stack.batches, ctx(), {
          batchId,
          operation: 'archive',
          items: Array.from({ length: 6 }, () => ({
            templateId: randomUUID(),
          })),
        }),
      ).rejects.toMatchObject({ rule: 'batch.items.too_many' });
      await expect(
        startBatch(stack.batches, ctx(), {
          batchId,
          operation: 'archive',
          items: [{ templateId: randomUUID() }, { templateId: 'nope' }],
        }),
      ).rejects.toMatchObject({
        rule: 'batch.item.shape',
        field: 'items.1.templateId',
      });
      await expect(
        startBatch(stack.batches, ctx(), {
          batchId,
          operation: 'archive',
          items: [],
        }),
      ).rejects.toMatchObject({ rule: 'batch.items.empty' });
      await expect(
        startBatch(stack.batches, ctx(), {
          batchId,
          operation: 'archive',
          items: [{ templateId: randomUUID() }],
          options: { scheduledAt: '2001-01-01T00:00:00Z' },
        }),
      ).rejects.toMatchObject({ rule: 'batch.scheduled_at.past' });
      expect(await streamExists(batchId)).toBe(false);
    });

    it("cancels a scheduled batch at once; a finished one refuses; another tenant's batch is not found", async () => {
      const target = await template(`Sched ${randomUUID()}`);
      await stack.caughtUp();
      const batchId = randomUUID();
      await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'archive',
        items: [{ templateId: target }],
        options: {
          scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      });
      await expect(cancelBatch(stack.batches, ctx('globex'), batchId, null)).rejects.toMatchObject({ kind: 'not_found' });
      const cancelled = await cancelBatch(stack.batches, ctx(), batchId, 'changed my mind');
      expect(cancelled.state.status).toBe('cancelled');
      await expect(cancelBatch(stack.batches, ctx(), batchId, null)).rejects.toMatchObject({ rule: 'batch.cancel.finished' });
      await expect(
        undoBatch(stack.batches, ctx(), batchId, {
          override: false,
          dryRun: true,
        }),
      ).rejects.toMatchObject({ rule: 'batch.undo.nothing_to_undo' });
    });
  });
}

suite('batch commands (PGlite)', async () => undefined);
const pg = postgresService();
(pg.url ? suite : describe.skip)(
  `batch commands (PostgreSQL)${pg.skipReason ? ` — skipped: ${pg.skipReason}` : ''}`,
  () => createTestDatabase(pg.url!) as never,
);
