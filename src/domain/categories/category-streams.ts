// The category stream, named in one place (the projector subscribes to its category). Per tenant
// (domain/tenant-streams.ts): a category id one tenant chose tells another nothing.
import { tenantStreamId } from '../tenant-streams.js';

export const CATEGORY_CATEGORY = 'category';

/** UUIDs compare case-insensitively; one spelling per category keeps one stream and one read-model row. */
export const canonicalCategoryId = (categoryId: string) => categoryId.toLowerCase();
export const categoryStreamId = (tenantId: string, categoryId: string) => tenantStreamId(CATEGORY_CATEGORY, tenantId, categoryId);
