// The zod schemas of the category routes, their limits taken from the domain.
import { z } from 'zod';
import { CATEGORY_DESCRIPTION_MAX, CATEGORY_NAME_MAX, CATEGORY_STATUSES, type CategoryCommand } from '../../domain/categories/index.js';
import { pageQuery, pageResponse } from '../paging.js';
import { minPositionQuery } from '../read-your-writes.js';

type DataOf<T extends CategoryCommand['type']> = Extract<CategoryCommand, { type: T }>['data'];
/** CreateCategory's input as a client sends it: the id may be left out, the description defaults to ''. */
type CreateCategoryBody = Omit<DataOf<'CreateCategory'>, 'categoryId' | 'description'> &
  Partial<Pick<DataOf<'CreateCategory'>, 'categoryId' | 'description'>>;
/** A rename, a new description, or both in one request. */
type ChangeCategoryBody = Partial<DataOf<'RenameCategory'> & DataOf<'DescribeCategory'>>;

const name = z.string().trim().min(1).max(CATEGORY_NAME_MAX);
const description = z.string().max(CATEGORY_DESCRIPTION_MAX);

export const createBody = z.strictObject({
  categoryId: z.uuid().optional(),
  name,
  description: description.optional(),
}) satisfies z.ZodType<CreateCategoryBody>;

export const changeBody = z
  .strictObject({ name: name.optional(), description: description.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined, {
    message: 'give name, description or both',
  }) satisfies z.ZodType<ChangeCategoryBody>;

export const idParams = z.strictObject({ categoryId: z.uuid() });
export const accepted = z.object({ categoryId: z.string(), revision: z.number().int(), position: z.string() });

export const categoryResponse = z.object({
  categoryId: z.string(),
  name: z.string(),
  description: z.string(),
  status: z.enum(CATEGORY_STATUSES),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});

export const oneCategoryQuery = z.strictObject({ minPosition: minPositionQuery });

export const listQuery = z.strictObject({
  status: z.enum(CATEGORY_STATUSES).optional(),
  // A substring of a name is at most a name long.
  q: z.string().trim().min(1).max(CATEGORY_NAME_MAX).optional().describe('Case-insensitive substring of the name'),
  ...pageQuery,
  minPosition: minPositionQuery,
});

export const listResponse = pageResponse(categoryResponse);
