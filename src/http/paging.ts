// The query parameters and response shape of every list (see src/projections/paging.ts).
import { z } from 'zod';

export const PAGE_MAX = 10_000;
export const PAGE_SIZE_MAX = 100;

export const pageQuery = {
  page: z.coerce.number().int().min(1).max(PAGE_MAX).default(1).describe('1-based page number'),
  pageSize: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20).describe(`items per page, at most ${PAGE_SIZE_MAX}`),
};

export const pageResponse = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
    pages: z.number().int(),
    hasNext: z.boolean(),
    hasPrevious: z.boolean(),
  });
