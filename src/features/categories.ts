// Course categories: the smallest complete feature (see src/README.md): one projector and its routes.
import { categoryRoutes } from '../http/categories/index.js';
import { categoryProjector } from '../projections/categories/category-projector.js';
import { featureRoutes, type FeatureModule } from './feature-module.js';

export const categoriesFeature: FeatureModule = {
  name: 'categories',
  create: (deps) => ({
    projectors: [categoryProjector],
    routes: ({ readYourWrites }) => [featureRoutes(categoryRoutes, { commands: deps.commands, db: deps.db, readYourWrites })],
  }),
};
