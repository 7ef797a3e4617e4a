// Tenant point-in-time restore: what the HTTP routes and the job worker call.
export {
  failTenantRestore,
  loadTenantRestore,
  planTenantRestore,
  recordPosition,
  requestTenantRestore,
  runTenantRestore,
  type PlannedChange,
  type TenantRestorePlan,
  type TenantRestoreRequest,
} from './tenant-restore.js';
export type { RestoreTarget } from './tenant-restore-scan.js';
