export type CategoryEvent =
  | { type: 'CategoryCreated'; data: { categoryId: string; name: string; description: string } }
  | { type: 'CategoryRenamed'; data: { name: string; previousName: string } }
  | { type: 'CategoryDescribed'; data: { description: string } }
  | { type: 'CategoryArchived'; data: { name: string } }
  | { type: 'CategoryRestored'; data: { name: string } };

export const CATEGORY_EVENT_TYPES: readonly CategoryEvent['type'][] = [
  'CategoryCreated',
  'CategoryRenamed',
  'CategoryDescribed',
  'CategoryArchived',
  'CategoryRestored',
];
