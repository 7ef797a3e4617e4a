// The template read models (schema rm_templates): one row per template for search and reads, favorites,
// usage by day, every version's content, and the audit trail. Every row carries the owner tenant.
import type { JsonObject } from '../../domain/json.js';
import type { EffectiveTemplate, TemplateContent } from '../../domain/templates/index.js';

/** The row status of a deleted template (soft delete): no query returns such a row. */
export const DELETED_STATUS = 'deleted';

export interface TemplateRow {
  template_id: string;
  tenant_id: string;
  is_public: boolean;
  is_system: boolean;
  name: string;
  description: string | null;
  category_id: string | null;
  template_type: string;
  status: string;
  parent_template_id: string | null;
  /** The template's own versioned content. */
  content: TemplateContent;
  /** The content folded down the inheritance chain from the root. */
  effective: EffectiveTemplate;
  /**
   * The parent's effective content as this template's tenant last saw it (null without a parent, or when
   * the parent was never visible since the link). While the parent is visible it follows the parent;
   * once the parent stops being visible to this tenant it stays frozen and `effective` folds from it.
   */
  inherited: EffectiveTemplate | null;
  /** The parent exists but is no longer visible to this template's tenant: inheritance is frozen. */
  parent_unavailable: boolean;
  /** Filter columns, taken from the effective template. */
  skill_level: string | null;
  price_minor: number | null;
  currency: string | null;
  duration: number | null;
  /** Lower-cased "type:name" of every own tag, for exact tag filters (GIN). */
  tag_keys: string[];
  /** Name, description and tag names and values: the keyword search's document. */
  search_text: string;
  version: number;
  revision: number;
  usage_count: number;
  success_count: number;
  last_used_at: Date | null;
  favorites_count: number;
  created_at: Date;
  updated_at: Date;
  created_by: string;
  updated_by: string;
}

export interface FavoriteRow {
  template_id: string;
  /** The favoriting user's tenant (a public template can be favorited from any tenant). */
  tenant_id: string;
  user_id: string;
  created_at: Date;
}

export interface UsageDayRow {
  template_id: string;
  /** The tenant whose user used the template. */
  tenant_id: string;
  day: string;
  usage_type: string;
  success_count: number;
  error_count: number;
}

export interface VersionRow {
  template_id: string;
  version: number;
  content: TemplateContent;
  parent_template_id: string | null;
  event_type: string;
  changed_by: string;
  changed_at: Date;
}

export interface HistoryRow {
  template_id: string;
  revision: number;
  event_type: string;
  /** The event's data: what changed. */
  changes: JsonObject;
  tenant_id: string;
  user_id: string;
  correlation_id: string | null;
  occurred_at: Date;
}

export interface TemplateTables {
  templates: TemplateRow;
  favorites: FavoriteRow;
  usage_days: UsageDayRow;
  versions: VersionRow;
  history: HistoryRow;
}
