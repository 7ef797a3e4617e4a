// Course templates: the projector (its cache hooks drop the entries a batch touched) and the routes, with
// the template command dependencies other features (batches) reuse to issue template commands.
import { postgresHorizon } from '../adapters/event-store/postgres-horizon.js';
import type { TemplateCommandDeps } from '../commands/templates/index.js';
import { templateRoutes } from '../http/templates/index.js';
import { templateCacheInvalidation } from '../projections/templates/template-cache-tags.js';
import { activeChildReads, templateProjectionCatchUp } from '../projections/templates/template-catch-up.js';
import { templateProjector } from '../projections/templates/template-projector.js';
import { templateSubtreeDepth } from '../projections/templates/template-queries.js';
import { tenantTemplateCounter } from '../projections/templates/tenant-template-counter.js';
import { featureRoutes, type FeatureDeps, type FeatureModule } from './feature-module.js';

/** Waits until the template read model holds every event the store acknowledged (template-catch-up.ts). */
export function templateReadModelCatchUp(deps: FeatureDeps): () => Promise<void> {
  const head = deps.config.EVENTSTORE_CONNECTION_STRING ? () => deps.eventStore.headPosition() : postgresHorizon(deps.db).acknowledgedHead;
  return templateProjectionCatchUp(deps.db, head);
}

export function templateCommandDeps(deps: FeatureDeps): TemplateCommandDeps {
  return {
    ...deps.commands,
    limits: { maxTemplatesPerTenant: deps.config.TEMPLATE_MAX_PER_TENANT },
    countTemplates: tenantTemplateCounter(deps.db),
    subtreeDepth: (templateId) => templateSubtreeDepth(deps.db.kysely, templateId),
    activeChildren: activeChildReads(deps.db, templateReadModelCatchUp(deps)),
  };
}

export const templatesFeature: FeatureModule = {
  name: 'templates',
  create: (deps) => ({
    projectors: [templateProjector(templateCacheInvalidation(deps.cache))],
    routes: ({ readYourWrites }) => [
      featureRoutes(templateRoutes, {
        commands: templateCommandDeps(deps),
        db: deps.db,
        readYourWrites,
        cache: deps.cache,
        popularThreshold: deps.config.TEMPLATE_POPULAR_THRESHOLD,
        opsPerMinute: deps.config.TEMPLATE_OPS_PER_MINUTE,
      }),
    ],
  }),
};
