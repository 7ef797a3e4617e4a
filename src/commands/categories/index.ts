// Category command handlers: what the HTTP routes and process managers call.
export { archiveCategory, changeCategory, createCategory, describeCategory, renameCategory, restoreCategory } from './category-handlers.js';
export type { CategoryCommandResult, CategoryTarget } from './category-handlers.js';
export { CATEGORY_NAME_SCOPE } from './category-name-claim.js';
