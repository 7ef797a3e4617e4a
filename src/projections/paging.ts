// One paging convention for every list: `page` (from 1) and `pageSize` in; the page's items, the total
// and where the page stands out. Offset paging fits these lists: they are sorted by user-chosen fields
// (search) or short per resource (versions, history), and clients want page counts.

export interface PageRequest {
  readonly page: number;
  readonly pageSize: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  hasNext: boolean;
  hasPrevious: boolean;
}

/** Rows to skip for the requested page. */
export const pageOffset = (request: PageRequest): number => (request.page - 1) * request.pageSize;

export function pageOf<T>(items: T[], total: number, request: PageRequest): Page<T> {
  const pages = Math.ceil(total / request.pageSize);
  return {
    items,
    total,
    page: request.page,
    pageSize: request.pageSize,
    pages,
    hasNext: request.page < pages,
    hasPrevious: request.page > 1 && total > 0,
  };
}
