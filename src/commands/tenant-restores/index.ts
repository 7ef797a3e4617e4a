// Tenant point-in-time restore: what the HTTP routes call.
export {
  loadTenantRestore,
  recordPosition,
  runTenantRestore,
  type PlannedChange,
  type TenantRestoreRequest,
  type TenantRestoreResult,
} from './tenant-restore.js';
export type { RestoreTarget } from './tenant-restore-scan.js';
