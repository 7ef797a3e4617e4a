// The streams of the template family, named and parsed in one place. Favorites and usages live beside the
// template's stream, not in it: they come from every tenant that may see the template and from every
// course made with it, so in the template's stream they would grow it without bound and move its revision
// (the owner's ETag) on every click. A favorite is one small stream per (template, user); usages append to
// one stream per template.
import { globalStreamId, idOfStream } from '../tenant-streams.js';

export const TEMPLATE_CATEGORY = 'template';
export const TEMPLATE_USAGE_CATEGORY = 'templateusage';
export const TEMPLATE_FAVORITE_CATEGORY = 'templatefavorite';
/** Every category a reader of the template family subscribes to. */
export const TEMPLATE_FAMILY_CATEGORIES = [TEMPLATE_CATEGORY, TEMPLATE_USAGE_CATEGORY, TEMPLATE_FAVORITE_CATEGORY] as const;

export const templateStreamId = (templateId: string) => globalStreamId(TEMPLATE_CATEGORY, templateId);
export const templateUsageStreamId = (templateId: string) => globalStreamId(TEMPLATE_USAGE_CATEGORY, templateId);
/** `favoriteId` identifies the (template, user) pair; the command side derives it deterministically. */
export const templateFavoriteStreamId = (favoriteId: string) => globalStreamId(TEMPLATE_FAVORITE_CATEGORY, favoriteId);

/** The template id of a template stream; undefined for any other stream. */
export const templateIdOfStream = (streamId: string): string | undefined => idOfStream(TEMPLATE_CATEGORY, streamId);
/** The template id of a usage stream; undefined for any other stream. */
export const templateIdOfUsageStream = (streamId: string): string | undefined => idOfStream(TEMPLATE_USAGE_CATEGORY, streamId);
export const isTemplateFavoriteStream = (streamId: string): boolean => idOfStream(TEMPLATE_FAVORITE_CATEGORY, streamId) !== undefined;
