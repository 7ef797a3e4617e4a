// A template's own content with every optional field empty, for tests that only care about a few fields.
import type { TemplateContent } from '../../src/domain/templates/index.js';

export const templateContent = (overrides: Partial<TemplateContent> = {}): TemplateContent => ({
  name: 'T',
  description: null,
  categoryId: null,
  templateType: 'base',
  mergeStrategy: 'merge',
  selectiveKeys: [],
  defaultDuration: null,
  defaultMaxParticipants: null,
  defaultMinParticipants: null,
  defaultPrice: null,
  defaultSkillLevel: null,
  dynamicProperties: {},
  validationRules: {},
  uiConfiguration: {},
  tags: [],
  isPublic: false,
  ...overrides,
});
