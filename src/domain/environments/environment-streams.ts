// The streams of this feature, named in one place (projectors subscribe to their categories).
import { tenantStreamId } from '../tenant-streams.js';
export const ENVIRONMENT_CATEGORY = 'environment';
export const CONFIG_CATEGORY = 'config';
export const CONFIG_TEMPLATE_CATEGORY = 'configtemplate';

const canonical = (id: string) => id.toLowerCase();
export const environmentStreamId = (environmentId: string) => `${ENVIRONMENT_CATEGORY}-${canonical(environmentId)}`;
export const configStreamId = (configId: string) => `${CONFIG_CATEGORY}-${canonical(configId)}`;
/** Per tenant (domain/tenant-streams.ts): a template id one tenant chose tells another nothing. */
export const configTemplateStreamId = (tenantId: string, templateId: string) =>
  tenantStreamId(CONFIG_TEMPLATE_CATEGORY, tenantId, templateId);
