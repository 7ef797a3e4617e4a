// The items of a batch, per operation, for the OpenAPI document. The batch domain checks them (it names the
// item by index and field, 'body.items.3.templateId', and reports what depends on the template as it is
// now as conflicts per item), so the route validates `items` as a list and these schemas describe it; a
// test keeps the create item's fields equal to the domain's CREATE_ITEM_FIELDS.
import { z } from 'zod';
import { apiSchemas } from '../openapi.js';
import { createBody, updateBody } from '../templates/schemas.js';

const expectedRevision = z
  .number()
  .int()
  .min(0)
  .nullable()
  .optional()
  .describe("The template's revision the item was prepared against; a newer one is a conflict");

export const batchCreateItem = createBody
  .omit({ isSystemTemplate: true })
  .extend({
    templateId: z
      .uuid()
      .optional()
      .describe('Default: derived from the batch id and the item index, so a retried request creates the same template'),
  })
  .describe('A template to create: the fields of POST /v1/templates');

export const batchUpdateItem = z
  .strictObject({
    templateId: z.uuid(),
    changes: updateBody.optional().describe("The fields to change; default: the batch's sharedChanges"),
    expectedRevision,
  })
  .describe('A template to change');

export const batchChangeParentItem = z
  .strictObject({
    templateId: z.uuid(),
    parentTemplateId: z.uuid().nullable().describe('null detaches'),
    expectedRevision,
  })
  .describe("A template's new parent");

export const batchTargetItem = z
  .strictObject({ templateId: z.uuid(), expectedRevision })
  .describe('A template to archive or (soft) delete');

export const BATCH_ITEM_SCHEMAS = {
  create: 'BatchCreateItem',
  update: 'BatchUpdateItem',
  changeParent: 'BatchChangeParentItem',
  archive: 'BatchTargetItem',
  delete: 'BatchTargetItem',
} as const;

apiSchemas.add(batchCreateItem, { id: BATCH_ITEM_SCHEMAS.create });
apiSchemas.add(batchUpdateItem, { id: BATCH_ITEM_SCHEMAS.update });
apiSchemas.add(batchChangeParentItem, { id: BATCH_ITEM_SCHEMAS.changeParent });
apiSchemas.add(batchTargetItem, { id: BATCH_ITEM_SCHEMAS.archive });

/** JSON Schema for a start body: which item schema goes with which operation (`oneOf` on `operation`). */
export const itemsPerOperation = {
  oneOf: Object.entries(BATCH_ITEM_SCHEMAS).map(([operation, id]) => ({
    type: 'object',
    properties: {
      operation: { type: 'string', enum: [operation] },
      items: { type: 'array', minItems: 1, items: { $ref: `#/components/schemas/${id}` } },
    },
    required: ['operation', 'items'],
  })),
};
