// The backup policy stream, named in one place (the projector and the scheduler subscribe to its category).
// Per tenant (domain/tenant-streams.ts): a policy id one tenant chose tells another nothing.
import { tenantStreamId } from '../tenant-streams.js';

export const BACKUP_POLICY_CATEGORY = 'backuppolicy';

export const canonicalBackupPolicyId = (policyId: string) => policyId.toLowerCase();
export const backupPolicyStreamId = (tenantId: string, policyId: string) => tenantStreamId(BACKUP_POLICY_CATEGORY, tenantId, policyId);
