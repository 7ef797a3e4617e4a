// The batch process manager with real workers on the SQL job queue (PGlite, and PostgreSQL when
// available): a 200-item batch applies every item exactly once with exact progress; conflict resolutions
// show in the outcomes; cancel stops queued chunks; retry runs failed items again without applying any
// twice; undo restores what the batch changed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStreamId } from '../../../src/domain/batches/batch-streams.js';
import { templateStreamId } from '../../../src/domain/templates/index.js';
import { comparePositions } from '../../../src/ports/event-store.js';
import { cancelBatch, retryBatch, startBatch, undoBatch } from '../../../src/commands/batches/batch-commands.js';
import { changeTemplateParent, changeTemplateStatus, createTemplate, updateTemplate } from '../../../src/commands/templates/index.js';
import { getBatch, listBatchItems } from '../../../src/projections/batches/batch-queries.js';
import { createBatchStack, contextOf, until, type BatchStack } from '../../support/batch-stack.js';
import { createTestDatabase, postgresService } from '../../support/services.js';

function suite(label: string, databaseUrl: () => Promise<string | undefined>) {
  describe(label, () => {
    let stack: BatchStack;
    beforeAll(async () => {
      const url = await databaseUrl();
      stack = await createBatchStack(url ? { databaseUrl: url } : {});
      await stack.startWorkers();
    });
    afterAll(async () => stack?.close());

    const ctx = () => contextOf('acme', 'alice', randomUUID());
    const template = async (name: string, more: Record<string, unknown> = {}) => {
      const templateId = randomUUID();
      const created = await createTemplate(stack.templates, ctx(), {
        templateId,
        name,
        templateType: 'base',
        ...more,
      });
      await stack.projections.waitFor(created.position, { timeoutMs: 20_000 });
      return templateId;
    };
    const view = async (batchId: string) => {
      await stack.caughtUp();
      return (await getBatch(stack.db.kysely, 'acme', batchId, new Date()))!;
    };
    const finished = async (batchId: string) => {
      await until(
        async () => ['completed', 'partially_completed', 'failed', 'cancelled'].includes((await view(batchId))?.status ?? ''),
        `batch ${batchId} to finish`,
        60_000,
      );
      return view(batchId);
    };
    const items = async (batchId: string) =>
      (
        await listBatchItems(stack.db.kysely, 'acme', batchId, {
          page: 1,
          pageSize: 100,
        })
      ).items;

    it('runs a 200-item create batch: every item applied exactly once, progress exact', async () => {
      const batchId = randomUUID();
      const ids = Array.from({ length: 200 }, () => randomUUID());
      await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'create',
        items: ids.map((templateId, i) => ({
          templateId,
          name: `Bulk ${i} ${batchId}`,
          templateType: 'base',
        })),
        options: { chunkSize: 30, concurrency: 4 },
      });
      const batch = await finished(batchId);
      expect(batch.status).toBe('completed');
      expect(batch.progress).toMatchObject({
        total: 200,
        succeeded: 200,
        failed: 0,
        skipped: 0,
        pending: 0,
        queued: 0,
        percentage: 100,
        etaSeconds: 0,
      });
      for (const [index, templateId] of ids.entries()) {
        const events = await stack.eventStore.readStream(templateStreamId(templateId));
        expect(events.filter((e) => e.type === 'TemplateCreated').map((e) => e.metadata.commandId)).toEqual([`${batchId}:${index}`]);
      }
      const page = await listBatchItems(stack.db.kysely, 'acme', batchId, {
        page: 2,
        pageSize: 50,
        outcome: 'succeeded',
      });
      expect(page).toMatchObject({
        total: 200,
        page: 2,
        pageSize: 50,
        pages: 4,
        hasNext: true,
        hasPrevious: true,
      });
      expect(page.items[0]).toMatchObject({
        index: 50,
        templateId: ids[50],
        status: 'succeeded',
        revisionBefore: null,
        revision: 0,
      });
    });

    it("is fair: a tenant's small batch finishes while another tenant's large one is still running", async () => {
      const large = randomUUID();
      const small = randomUUID();
      const items = (n: number, tag: string) =>
        Array.from({ length: n }, (_, i) => ({
          templateId: randomUUID(),
          name: `${tag} ${i}`,
          templateType: 'base',
        }));
      await startBatch(stack.batches, contextOf('bigcorp', 'bob', randomUUID()), {
        batchId: large,
        operation: 'create',
        items: items(600, `Large ${large}`),
        options: { chunkSize: 20, concurrency: 2 },
      });
      await startBatch(stack.batches, ctx(), {
        batchId: small,
        operation: 'create',
        items: items(10, `Small ${small}`),
        options: { chunkSize: 20 },
      });
      // Waiting for the small batch only (not for the large one to finish too): on a loaded machine the
      // 600 items on PGlite alone could outlast the test's timeout (seen in CI: 60 s).
      await until(
        async () => {
          await stack.caughtUp();
          return (await getBatch(stack.db.kysely, 'acme', small, new Date()))?.status === 'completed';
        },
        'the small batch to complete',
        50_000,
      );
      // Caught up past the small batch's end: every event positioned before it is visible now.
      await stack.caughtUp();
      // Judged on the log, not on when a poll sees it: the large batch's items applied before the small
      // batch's end event.
      const smallEnd = (await stack.eventStore.readStream(batchStreamId(small))).find((e) => e.type === 'BatchCompleted')!;
      const largeEvents = await stack.eventStore.readStream(batchStreamId(large));
      const largeDoneBefore = largeEvents.filter(
        (e) => e.type === 'BatchItemSucceeded' && comparePositions(e.position, smallEnd.position) < 0,
      ).length;
      expect(largeDoneBefore).toBeLessThan(300);
      // The large batch is not this test's subject: stop it so the next tests do not share the workers with it.
      await cancelBatch(stack.batches, contextOf('bigcorp', 'bob', randomUUID()), large, 'test over');
    });

    it('shows skip, override and merge resolutions in the outcomes', async () => {
      const parent = await template(`Parent ${randomUUID()}`);
      await template(`Child ${randomUUID()}`, { parentTemplateId: parent });
      const moved = await template(`Moved ${randomUUID()}`);
      await updateTemplate(stack.templates, ctx(), {
        templateId: moved,
        changes: { description: 'someone else' },
      });
      const plain = await template(`Plain ${randomUUID()}`);
      await stack.caughtUp();
      // override: archiving a parent with an active child runs anyway.
      const overrideId = randomUUID();
      await startBatch(stack.batches, ctx(), {
        batchId: overrideId,
        operation: 'archive',
        items: [{ templateId: parent }],
        options: { conflictResolution: 'override' },
      });
      expect(await finished(overrideId)).toMatchObject({
        status: 'completed',
        conflicts: { total: 1 },
      });
      expect((await items(overrideId))[0]).toMatchObject({
        status: 'succeeded',
        conflicts: [
          expect.objectContaining({
            type: 'dependency',
            resolution: 'overridden',
          }),
        ],
      });
      // merge: a stale update on disjoint fields re-applies on the newer revision; skip: a stale one is skipped.
      const mergeId = randomUUID();
      await startBatch(stack.batches, ctx(), {
        batchId: mergeId,
        operation: 'update',
        items: [
          {
            templateId: moved,
            expectedRevision: 0,
            changes: { defaultDuration: 45 },
          },
          { templateId: plain, changes: { defaultDuration: 45 } },
        ],
        options: { conflictResolution: 'merge' },
      });
      expect(await finished(mergeId)).toMatchObject({ status: 'completed' });
      expect((await items(mergeId)).map((i) => i.status)).toEqual(['succeeded', 'succeeded']);
      const skipId = randomUUID();
      await startBatch(stack.batches, ctx(), {
        batchId: skipId,
        operation: 'update',
        items: [
          {
            templateId: moved,
            expectedRevision: 0,
            changes: { defaultDuration: 50 },
          },
          { templateId: plain, changes: { defaultDuration: 50 } },
        ],
        options: { conflictResolution: 'skip' },
      });
      const skipped = await finished(skipId);
      expect(skipped).toMatchObject({
        status: 'partially_completed',
        progress: { succeeded: 1, skipped: 1 },
      });
      expect((await items(skipId))[0]).toMatchObject({
        status: 'skipped',
        conflicts: [expect.objectContaining({ type: 'version', resolution: 'skipped' })],
      });
    });

    it('cancels: queued chunks stop, each item ends with exactly one outcome', async () => {
      const batchId = randomUUID();
      const ids = Array.from({ length: 60 }, () => randomUUID());
      await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'create',
        items: ids.map((templateId, i) => ({
          templateId,
          name: `Cancel ${i} ${batchId}`,
          templateType: 'base',
        })),
        options: { chunkSize: 2, concurrency: 1 },
      });
      await cancelBatch(stack.batches, ctx(), batchId, 'stop');
      const batch = await finished(batchId);
      expect(batch.status).toBe('cancelled');
      const { succeeded, failed, cancelled, skipped, pending, queued } = batch.progress;
      expect(succeeded + failed + cancelled + skipped).toBe(60);
      expect(pending + queued).toBe(0);
      expect(cancelled).toBeGreaterThan(0);
      let created = 0;
      for (const templateId of ids)
        created += await stack.eventStore.readStream(templateStreamId(templateId)).then(
          () => 1,
          () => 0,
        );
      expect(created).toBe(succeeded);
    });

    it('retries failed items without applying any twice, and undo restores the revisions before', async () => {
      const clash = `Clash ${randomUUID()}`;
      const batchId = randomUUID();
      const ids = [randomUUID(), randomUUID()];
      // Held back: the plan is checked, then another template takes the name before the worker runs.
      await stack.stopWorkers();
      await startBatch(stack.batches, ctx(), {
        batchId,
        operation: 'create',
        items: [
          { templateId: ids[0], name: clash, templateType: 'base' },
          { templateId: ids[1], name: `Fine ${batchId}`, templateType: 'base' },
        ],
      });
      const holder = await template(clash);
      await stack.startWorkers();
      const first = await finished(batchId);
      expect(first).toMatchObject({
        status: 'partially_completed',
        progress: { succeeded: 1, failed: 1 },
      });
      expect((await items(batchId))[0]).toMatchObject({
        status: 'failed',
        error: expect.stringContaining('name'),
      });
      await changeTemplateStatus(stack.templates, ctx(), {
        templateId: holder,
        action: 'archive',
      });
      await retryBatch(stack.batches, ctx(), batchId, null);
      await until(async () => (await view(batchId)).status === 'completed', 'the retry to complete');
      for (const [index, templateId] of ids.entries()) {
        const events = await stack.eventStore.readStream(templateStreamId(templateId));
        expect(events.filter((e) => e.type === 'TemplateCreated').map((e) => e.metadata.commandId)).toEqual([`${batchId}:${index}`]);
      }

      // Undo of an update batch: every template back at its content before, by new events.
      const a = await template(`Undo A ${randomUUID()}`, {
        defaultDuration: 30,
      });
      const b = await template(`Undo B ${randomUUID()}`);
      const parent = await template(`Undo P ${randomUUID()}`);
      await changeTemplateParent(stack.templates, ctx(), {
        templateId: b,
        parentTemplateId: parent,
      });
      await stack.caughtUp();
      const updateId = randomUUID();
      await startBatch(stack.batches, ctx(), {
        batchId: updateId,
        operation: 'update',
        items: [{ templateId: a }, { templateId: b }],
        sharedChanges: { defaultDuration: 120 },
      });
      expect(await finished(updateId)).toMatchObject({ status: 'completed' });
      const preview = await undoBatch(stack.batches, ctx(), updateId, {
        override: false,
        dryRun: true,
      });
      expect(preview).toMatchObject({
        dryRun: true,
        preview: { refused: false, changedSinceBatch: [] },
      });
      const undone = await undoBatch(stack.batches, ctx(), updateId, {
        override: false,
        dryRun: false,
      });
      if (undone.dryRun) throw new Error('expected an undo');
      expect(await finished(undone.undoBatchId)).toMatchObject({
        status: 'completed',
        operation: 'restore',
        undoOf: updateId,
      });
      const streamA = await stack.eventStore.readStream(templateStreamId(a));
      expect(streamA.at(-1)).toMatchObject({
        type: 'TemplateVersionRestored',
        data: expect.objectContaining({
          restoredFrom: 1,
          content: expect.objectContaining({ defaultDuration: 30 }),
        }),
      });
      expect((await view(updateId)).undoneBy).toBe(undone.undoBatchId);
      await expect(
        undoBatch(stack.batches, ctx(), undone.undoBatchId, {
          override: false,
          dryRun: false,
        }),
      ).rejects.toMatchObject({ rule: 'batch.undo.of_undo' });
      await expect(
        undoBatch(stack.batches, ctx(), updateId, {
          override: false,
          dryRun: false,
        }),
      ).rejects.toMatchObject({ rule: 'batch.undo.already_requested' });
      expect((await stack.eventStore.readStream(batchStreamId(updateId))).map((e) => e.type)).toContain('BatchUndoPlanned');
    });
  });
}

suite('batch process manager (PGlite)', async () => undefined);
const pg = postgresService();
(pg.url ? suite : describe.skip)(
  `batch process manager (PostgreSQL)${pg.skipReason ? ` — skipped: ${pg.skipReason}` : ''}`,
  () => createTestDatabase(pg.url!) as never,
);
