// Course templates: the projector (its cache hooks drop the entries a batch touched) and the routes, with
// the template command dependencies other features (batches) reuse to issue template commands.
import type { TemplateCommandDeps } from '../commands/templates/index.js';
import { templateRoutes } from '../http/templates/index.js';
import { templateCacheInvalidation } from '../projections/templates/template-cache-tags.js';
import { activeChildReads, templateProjectionCatchUp } from '../projections/templates/template-catch-up.js';
import { templateProjector } from '../projections/templates/template-projector.js';
import { templateSubtreeDepth } from '../projections/templates/template-queries.js';
import { tenantTemplateCounter } from '../projections/templates/tenant-template-counter.js';
import { featureRoutes, type FeatureDeps, type FeatureModule } from './feature-module.js';

export function templateCommandDeps(deps: FeatureDeps): TemplateCommandDeps {
  return {
    ...deps.commands,
    limits: { maxTemplatesPerTenant: deps.config.TEMPLATE_MAX_PER_TENANT },
    countTemplates: tenantTemplateCounter(deps.db),
    subtreeDepth: (templateId) => templateSubtreeDepth(deps.db.kysely, templateId),
    activeChildIds: activeChildReads(deps.db, templateProjectionCatchUp(deps.db, deps.eventStore)),
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
