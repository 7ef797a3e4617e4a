// The streams of this feature, named in one place (projectors subscribe to their categories).
export const ENVIRONMENT_CATEGORY = 'environment';
export const CONFIG_CATEGORY = 'config';
export const CONFIG_TEMPLATE_CATEGORY = 'configtemplate';

const canonical = (id: string) => id.toLowerCase();
export const environmentStreamId = (environmentId: string) => `${ENVIRONMENT_CATEGORY}-${canonical(environmentId)}`;
export const configStreamId = (configId: string) => `${CONFIG_CATEGORY}-${canonical(configId)}`;
export const configTemplateStreamId = (templateId: string) => `${CONFIG_TEMPLATE_CATEGORY}-${canonical(templateId)}`;
