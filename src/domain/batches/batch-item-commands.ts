// What a worker runs for an item: the template command, and the commandId that makes a redelivered or
// retried item a no-op instead of a second application.
import type { CreateTemplateData, TemplateCommand } from '../templates/template-commands.js';
import type { TemplateState } from '../templates/template-state.js';
import type { BatchItem } from './batch-plan.js';
import { restoreCommands } from './batch-undo.js';

/** `batchId:itemIndex`, plus `:step` for the later commands of a multi-command restore (step 0 has none). */
export const batchItemCommandId = (batchId: string, index: number, step = 0) =>
  step === 0 ? `${batchId}:${index}` : `${batchId}:${index}:${step}`;

/**
 * The template commands of one item, in order. Create owns the template for the batch's tenant; restore
 * depends on the template as it is now (`current`, folded from its stream); a delete is a soft delete that
 * an undo brings back with UndeleteTemplate.
 */
export function templateCommandsForItem(item: BatchItem, tenantId: string, current: TemplateState): TemplateCommand[] {
  switch (item.operation) {
    case 'create':
      return [
        {
          type: 'CreateTemplate',
          data: {
            ...(item.create as unknown as Omit<CreateTemplateData, 'templateId' | 'ownerTenantId'>),
            templateId: item.templateId,
            ownerTenantId: tenantId,
          },
        },
      ];
    case 'update':
      return [{ type: 'UpdateTemplate', data: item.changes as never }];
    case 'changeParent':
      return [{ type: 'ChangeTemplateParent', data: { parentTemplateId: item.parentTemplateId } }];
    case 'archive':
      return [{ type: 'ArchiveTemplate', data: {} }];
    case 'delete':
      return [{ type: 'DeleteTemplate', data: {} }];
    case 'restore':
      return restoreCommands(current, item.restore);
  }
}
