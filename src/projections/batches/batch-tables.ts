// The batch progress read model (schema rm_batches): one row per batch with its counts per item state, and
// one row per item with its outcome, error and conflicts.
import type { JsonObject, JsonValue } from '../../domain/json.js';

export interface BatchRow {
  batch_id: string;
  tenant_id: string;
  operation: string;
  status: string;
  total: number;
  pending: number;
  queued: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  /** Conflicts found before the run: how many, and the first CONFLICTS_KEPT of them. */
  conflict_count: number;
  conflicts: JsonValue[];
  options: JsonObject;
  requested_by: string;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  undo_of: string | null;
  undone_by: string | null;
  round: number;
  /** The last batch event applied (stream revision). */
  revision: number;
  updated_at: Date;
}

export interface BatchItemRow {
  batch_id: string;
  item_index: number;
  tenant_id: string;
  template_id: string;
  status: string;
  attempts: number;
  reason: string | null;
  revision_before: number | null;
  revision: number | null;
  conflicts: JsonValue[];
  updated_at: Date;
}

export interface BatchTables {
  batches: BatchRow;
  batch_items: BatchItemRow;
}

export const CONFLICTS_KEPT = 100;
