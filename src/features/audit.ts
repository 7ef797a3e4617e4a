// Audit: event replay for audit (the log read with its metadata) and projection replays with progress.
// No aggregate and no read model of its own: the log is the record.
import { auditHttp } from '../http/audit/index.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';

export const auditFeature: FeatureModule = {
  name: 'audit',
  create: (deps) => ({
    routes: ({ projections }) => [featureRoutes(auditHttp, { eventStore: deps.eventStore, projections })],
  }),
};
