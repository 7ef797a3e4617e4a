// The category stream, named in one place (the projector subscribes to its category).
export const CATEGORY_CATEGORY = 'category';

/** UUIDs compare case-insensitively; one spelling per category keeps one stream and one read-model row. */
export const canonicalCategoryId = (categoryId: string) => categoryId.toLowerCase();
export const categoryStreamId = (categoryId: string) => `${CATEGORY_CATEGORY}-${canonicalCategoryId(categoryId)}`;
