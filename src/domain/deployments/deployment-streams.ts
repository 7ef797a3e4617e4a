// The deployment stream: one per deployment, named and parsed in one place.
import { UUID_PATTERN } from '../uuid.js';

export const DEPLOYMENT_CATEGORY = 'deployment';
export const deploymentStreamId = (deploymentId: string) => `${DEPLOYMENT_CATEGORY}-${deploymentId.toLowerCase()}`;

const DEPLOYMENT_STREAM = new RegExp(`^${DEPLOYMENT_CATEGORY}-(${UUID_PATTERN})$`, 'i');
/** The deployment id of a deployment stream; undefined for any other stream. */
export const deploymentIdOfStream = (streamId: string): string | undefined => DEPLOYMENT_STREAM.exec(streamId)?.[1]?.toLowerCase();
