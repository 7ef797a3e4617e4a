// The deployment stream: one per deployment, named and parsed in one place (domain/tenant-streams.ts). Per
// tenant: a deployment id one tenant chose tells another nothing.
import { idOfStream, tenantStreamId } from '../tenant-streams.js';

export const DEPLOYMENT_CATEGORY = 'deployment';
export const deploymentStreamId = (tenantId: string, deploymentId: string) => tenantStreamId(DEPLOYMENT_CATEGORY, tenantId, deploymentId);

/** The deployment id of a deployment stream (either shape); undefined for any other stream. */
export const deploymentIdOfStream = (streamId: string): string | undefined => idOfStream(DEPLOYMENT_CATEGORY, streamId);
