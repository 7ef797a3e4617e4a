/** The categories read model: one row per category, tenant first in every key. */
export interface CategoryRow {
  tenant_id: string;
  category_id: string;
  name: string;
  description: string;
  status: 'active' | 'archived';
  revision: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

export interface CategoryTables {
  categories: CategoryRow;
}
