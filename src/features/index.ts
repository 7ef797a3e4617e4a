// Every feature the service runs, in registration order (projectors and routes follow it).
import { categoriesFeature } from './categories.js';
import type { FeatureModule } from './feature-module.js';
import { templatesFeature } from './templates.js';
import { batchesFeature } from './batches.js';
import { environmentsFeature } from './environments.js';
import { backupsFeature } from './backups.js';
import { orchestratorsFeature } from './orchestrators.js';
import { auditFeature } from './audit.js';
import { tenantRestoresFeature } from './tenant-restores.js';
import { deploymentsFeature } from './deployments.js';
import { restoresFeature } from './restores.js';
import { backupPoliciesFeature } from './backup-policies.js';

export const features: readonly FeatureModule[] = [
  categoriesFeature,
  templatesFeature,
  batchesFeature,
  environmentsFeature,
  backupsFeature,
  orchestratorsFeature,
  auditFeature,
  tenantRestoresFeature,
  deploymentsFeature,
  restoresFeature,
  backupPoliciesFeature,
];
