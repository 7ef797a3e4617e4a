// The streams of this feature, named in one place (projectors subscribe to their categories). Per tenant
// (domain/tenant-streams.ts): an id one tenant chose tells another nothing.
import { tenantStreamId } from '../tenant-streams.js';
export const ENVIRONMENT_CATEGORY = 'environment';
export const CONFIG_CATEGORY = 'config';
export const CONFIG_TEMPLATE_CATEGORY = 'configtemplate';

export const environmentStreamId = (tenantId: string, environmentId: string) =>
  tenantStreamId(ENVIRONMENT_CATEGORY, tenantId, environmentId);
export const configStreamId = (tenantId: string, configId: string) => tenantStreamId(CONFIG_CATEGORY, tenantId, configId);
export const configTemplateStreamId = (tenantId: string, templateId: string) =>
  tenantStreamId(CONFIG_TEMPLATE_CATEGORY, tenantId, templateId);
