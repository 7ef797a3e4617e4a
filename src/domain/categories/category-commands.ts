export type CategoryCommand =
  | { type: 'CreateCategory'; data: { categoryId: string; name: string; description: string } }
  | { type: 'RenameCategory'; data: { name: string } }
  | { type: 'DescribeCategory'; data: { description: string } }
  | { type: 'ArchiveCategory'; data: Record<string, never> }
  | { type: 'RestoreCategory'; data: Record<string, never> };
